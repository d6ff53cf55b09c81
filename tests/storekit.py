"""Reading the log back in tests: one post, its versions, the journal's last change, a
summary of holes, the rows of a query on a database file. The app never needs these (it
streams and aggregates in SQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from storage.db import Database, open_database
from storage.models import PostVersion, StoredPost
from storage.posts import POST_SELECT, _media, stored_post_from_row
from storage.stats import Holes, HoleTally, IdRange
from storage.timefmt import from_db, from_db_opt


async def get_post(db: Database, channel_id: int, message_id: int) -> StoredPost | None:
    row = await db.fetchone(f"{POST_SELECT} WHERE p.channel_id = ? AND p.message_id = ?",
                            (channel_id, message_id))
    return stored_post_from_row(row) if row else None


async def get_versions(db: Database, channel_id: int, message_id: int) -> list[PostVersion]:
    # post_versions is a view over stored_versions and posts: filtered by post id, which
    # SQLite pushes into both arms (a join would read the whole view)
    found = await db.fetchone("SELECT id FROM posts WHERE channel_id = ? AND message_id = ?",
                              (channel_id, message_id))
    if found is None:
        return []
    rows = await db.fetchall("SELECT * FROM post_versions WHERE post_id = ? ORDER BY version",
                             (found[0],))
    return [PostVersion(channel_id, message_id, r["version"], r["text"], _media(r, full=False),
                        from_db_opt(r["edit_date"]), from_db(r["seen_at"])) for r in rows]


async def last_change(db: Database) -> int:
    row = await db.fetchone("SELECT coalesce(max(seq), 0) FROM post_changes")
    return int(row[0]) if row else 0


def summarise_holes(ranges: Iterable[IdRange], keep: int = 5) -> Holes:
    tally = HoleTally(keep)
    for r in ranges:
        tally.add(r)
    return tally.holes()


def read_rows(db_path: Any, sql: str, params: Any = (),
              row: Callable[[Any], Any] = tuple) -> list[Any]:
    """The rows of a query on the database at ``db_path``, each made by ``row`` (tuple,
    dict): for tests that look at a run's database after it ended."""
    async def go() -> list[Any]:
        db = await open_database(db_path)
        try:
            return [row(r) for r in await db.fetchall(sql, params)]
        finally:
            await db.close()
    return asyncio.run(go())
