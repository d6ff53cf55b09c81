"""Reading the log by period, for searches that look at every post (rule tests)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.models import StoredPost
from storage.posts import POST_SELECT, stored_post_from_row
from storage.timefmt import from_db_opt, to_db


async def posts_between(db: Database, since: datetime, until: datetime,
                        batch: int = 200) -> AsyncGenerator[StoredPost, None]:
    """Posts dated ``since <= date < until``, newest first, tombstoned ones included.

    Streams in batches (memory stays flat); ``posts_by_date`` serves the range and the
    order (ties by row id, i.e. capture order)."""
    sql = (f"{POST_SELECT} WHERE p.date >= ? AND p.date < ? "
           "ORDER BY p.date DESC, p.id DESC")
    # aclosing: a reader that stops early closes the cursor before the database closes.
    stream = db.stream(sql, (to_db(since), to_db(until)), batch=batch)
    async with aclosing(cast(AsyncGenerator[sqlite3.Row, None], stream)) as rows:
        async for row in rows:
            yield stored_post_from_row(row)


@dataclass(frozen=True)
class OlderPosts:
    """What the log holds before a window that came out empty."""

    count: int
    first: datetime | None
    last: datetime | None


async def posts_before(db: Database, before: datetime,
                       channel_ids: Sequence[int] | None = None) -> OlderPosts:
    """How many posts are dated before ``before`` (of these channels), and their range."""
    sql = "SELECT count(*), min(date), max(date) FROM posts WHERE date < ?"
    params: list[object] = [to_db(before)]
    if channel_ids is not None:
        sql += f" AND channel_id {IN_IDS}"
        params.append(ids_json(channel_ids))
    row = await db.fetchone(sql, params)
    if row is None or not row[0]:
        return OlderPosts(0, None, None)
    return OlderPosts(int(row[0]), from_db_opt(row[1]), from_db_opt(row[2]))
