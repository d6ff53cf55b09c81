"""Storing posts: idempotent upserts that keep every version, and tombstones.

Storing the same post twice changes nothing (but ``last_seen``); storing a post whose
text or media changed raises its version and the triggers (migrations 0001, 0011) keep
the version it replaces in ``stored_versions``, re-index it for search and journal the
change in ``post_changes``. The current version is the ``posts`` row itself: each text
is stored once.
New posts are indexed for search once per batch (:func:`index_pending`, migration 0004).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.channels import record_channel
from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.links import store_links
from storage.media import queue_media
from storage.models import (
    CapturePath,
    Channel,
    Entity,
    ForwardOrigin,
    Media,
    Post,
    Reaction,
    StoredPost,
)
from storage.normalise import SEARCH_FUNCTION
from storage.timefmt import from_db, from_db_opt, to_db, to_db_opt

_INSERT_COLUMNS = (
    "channel_id", "message_id", "date", "text", "entities", "views", "forwards", "replies",
    "reactions", "media_kind", "media_file_name", "media_size", "media_mime_type",
    "media_width", "media_height", "media_duration", "fwd_channel_id", "fwd_message_id",
    "fwd_date", "fwd_name", "reply_to_id", "grouped_id", "author", "edit_date",
    "first_seen", "last_seen", "captured_via",
)

# An incoming copy is "fresh" unless Telegram says it is older than what is stored;
# it is a new version when it is fresh and its text or media differ.
_FRESH = "coalesce(excluded.edit_date, '') >= coalesce(posts.edit_date, '')"
_CHANGED = (
    "(posts.text IS NOT excluded.text"
    " OR posts.media_kind IS NOT excluded.media_kind"
    " OR coalesce(posts.media_size != excluded.media_size, 0)"
    " OR coalesce(posts.media_file_name != excluded.media_file_name, 0))"
)
_NEWER = f"({_CHANGED} AND {_FRESH})"


def _content(col: str) -> str:
    return f"{col} = CASE WHEN {_NEWER} THEN excluded.{col} ELSE posts.{col} END"


def _latest(col: str) -> str:
    return f"{col} = coalesce(excluded.{col}, posts.{col})"


def _keep(col: str) -> str:
    return f"{col} = coalesce(posts.{col}, excluded.{col})"


# The version column is assigned last: SQLite evaluates every SET expression against
# the old row, so _NEWER sees the stored text in all of them.
UPSERT_SQL = (
    f"INSERT INTO posts ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)}) "
    "ON CONFLICT (channel_id, message_id) DO UPDATE SET "
    + ", ".join(
        [_content(c) for c in ("text", "media_kind", "media_file_name", "media_size",
                               "media_mime_type", "media_width", "media_height",
                               "media_duration")]
        + [f"entities = CASE WHEN {_FRESH} THEN coalesce(excluded.entities, posts.entities)"
           " ELSE posts.entities END",
           f"edit_date = CASE WHEN {_FRESH} THEN coalesce(excluded.edit_date, posts.edit_date)"
           " ELSE posts.edit_date END"]
        + [_latest(c) for c in ("views", "forwards", "replies", "reactions")]
        + [_keep(c) for c in ("fwd_channel_id", "fwd_message_id", "fwd_date", "fwd_name",
                              "reply_to_id", "grouped_id", "author")]
        + ["last_seen = max(posts.last_seen, excluded.last_seen)",
           f"version_seen_at = CASE WHEN {_NEWER} THEN max(posts.last_seen, excluded.last_seen)"
           " ELSE posts.version_seen_at END",
           f"version = posts.version + ({_NEWER})"]
    )
)


def _json(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def entities_json(entities: Iterable[Entity]) -> str | None:
    return _json([{k: v for k, v in vars(e).items() if v is not None} for e in entities])


def reactions_json(reactions: Iterable[Reaction]) -> str | None:
    return _json([{"emoji": r.emoji, "count": r.count} for r in reactions])


def post_row(post: Post, captured_via: CapturePath, seen_at: datetime) -> tuple[Any, ...]:
    """The ``posts`` row of a post, in ``_INSERT_COLUMNS`` order."""
    m, f = post.media, post.forward
    seen = to_db(seen_at)
    return (
        post.channel_id, post.message_id, to_db(post.date), post.text,
        entities_json(post.entities), post.views, post.forwards, post.replies,
        reactions_json(post.reactions),
        m.kind if m else None, m.file_name if m else None, m.size if m else None,
        m.mime_type if m else None, m.width if m else None, m.height if m else None,
        m.duration if m else None,
        f.channel_id if f else None, f.message_id if f else None,
        to_db_opt(f.date) if f else None, f.name if f else None,
        post.reply_to_id, post.grouped_id, post.author, to_db_opt(post.edit_date),
        seen, seen, str(captured_via),
    )


@dataclass(frozen=True)
class StoreResult:
    new: int = 0        # posts not stored before
    edited: int = 0     # new versions of stored posts
    deleted: int = 0    # new tombstones

    def __add__(self, other: StoreResult) -> StoreResult:
        return StoreResult(self.new + other.new, self.edited + other.edited,
                           self.deleted + other.deleted)


async def _last_seq(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM post_changes") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _changes_since(conn: aiosqlite.Connection, seq: int) -> StoreResult:
    counts = {"new": 0, "edit": 0, "delete": 0}
    # GROUP BY +kind: grouping by the (kind, at) index would read the whole journal
    # (every store of a post then grew with the log); the new changes are a range of seq.
    async with conn.execute(
            "SELECT kind, count(*) FROM post_changes WHERE seq > ? GROUP BY +kind",
            (seq,)) as cur:
        for kind, n in await cur.fetchall():
            counts[kind] = n
    return StoreResult(counts["new"], counts["edit"], counts["delete"])


# New posts wait in fts_pending (insert trigger, migration 0004); one statement indexes
# them all, so FTS5 writes one index segment per batch instead of one per post. The
# index holds each text normalised (storage.normalise, migration 0010).
_INDEX_PENDING = (
    "INSERT INTO posts_fts (rowid, text) "
    f"SELECT p.id, {SEARCH_FUNCTION}(p.text) "
    "FROM fts_pending q JOIN posts p ON p.id = q.post_id"
)


async def index_pending(conn: aiosqlite.Connection) -> None:
    """Add posts inserted in this transaction to the full-text index."""
    await conn.execute(_INDEX_PENDING)
    await conn.execute("DELETE FROM fts_pending")


# The same upsert with every row in one JSON parameter: one statement per batch, so the
# whole batch runs inside SQLite (off the GIL) instead of one step per row.
BULK_UPSERT_SQL = UPSERT_SQL.replace(
    f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)}) ",
    f"SELECT {', '.join(f'value ->> {i}' for i in range(len(_INSERT_COLUMNS)))} "
    "FROM json_each(?) WHERE true ")


async def store_posts(conn: aiosqlite.Connection, posts: Sequence[Post],
                      captured_via: CapturePath, seen_at: datetime, *,
                      bulk: bool = False, account: str | None = None) -> StoreResult:
    """Upsert posts inside the caller's transaction (their channels must exist).

    ``bulk`` sends the batch as one statement: for writers whose event loop stays busy
    meanwhile (the watcher reads Telegram while the database thread writes).
    ``account``: the watching account that read them (their files' locations are its).
    """
    if not posts:
        return StoreResult()
    before = await _last_seq(conn)
    rows = [post_row(p, captured_via, seen_at) for p in posts]
    if bulk:
        await conn.execute(BULK_UPSERT_SQL,
                           (json.dumps(rows, ensure_ascii=False, separators=(",", ":")),))
    else:
        await conn.executemany(UPSERT_SQL, rows)
    await index_pending(conn)
    await store_links(conn, posts)
    await queue_media(conn, posts, seen_at, account)
    return await _changes_since(conn, before)


async def save_posts(db: Database, posts: Sequence[Post], captured_via: CapturePath,
                     seen_at: datetime, channel: Channel | None = None) -> StoreResult:
    """Store posts in one transaction, recording their channel first when given."""
    async with db.transaction() as conn:
        if channel is not None:
            await record_channel(conn, channel, seen_at)
        return await store_posts(conn, posts, captured_via, seen_at)


async def mark_deleted(conn: aiosqlite.Connection, channel_id: int,
                       message_ids: Iterable[int], at: datetime) -> StoreResult:
    """Tombstone posts inside the caller's transaction. Ids never stored are noted in
    ``absent_messages`` (they explain holes). Rows are never deleted."""
    ids = sorted(set(message_ids))
    if not ids:
        return StoreResult()
    before = await _last_seq(conn)
    when = to_db(at)
    listed = ids_json(ids)
    await conn.execute(
        f"UPDATE posts SET deleted_at = ? WHERE channel_id = ? AND message_id {IN_IDS} "
        "AND deleted_at IS NULL", (when, channel_id, listed))
    await conn.execute(
        "INSERT OR IGNORE INTO absent_messages (channel_id, message_id, reason, noted_at) "
        f"SELECT ?, value, 'deleted', ? FROM json_each(?) WHERE value NOT IN "
        f"(SELECT message_id FROM posts WHERE channel_id = ? AND message_id {IN_IDS})",
        (channel_id, when, listed, channel_id, listed))
    return await _changes_since(conn, before)


async def note_absent(conn: aiosqlite.Connection, channel_id: int,
                      message_ids: Iterable[int], reason: str, at: datetime) -> None:
    """Record ids that are not posts (service messages, ...), inside a transaction."""
    when = to_db(at)
    await conn.executemany(
        "INSERT OR IGNORE INTO absent_messages (channel_id, message_id, reason, noted_at) "
        "VALUES (?, ?, ?, ?)", [(channel_id, mid, reason, when) for mid in message_ids])


# ---- reading ------------------------------------------------------------------

# Columns for :func:`stored_post_from_row`; ``p`` is posts, ``c`` is channels.
POST_SELECT = (
    "SELECT p.*, c.username AS channel_username, c.title AS channel_title "
    "FROM posts p JOIN channels c USING (channel_id)"
)


def _entities(raw: str | None) -> tuple[Entity, ...]:
    return tuple(Entity(**e) for e in json.loads(raw)) if raw else ()


def _reactions(raw: str | None) -> tuple[Reaction, ...]:
    return tuple(Reaction(r["emoji"], r["count"]) for r in json.loads(raw)) if raw else ()


def _media(row: sqlite3.Row, full: bool = True) -> Media | None:
    if row["media_kind"] is None:
        return None
    if not full:
        return Media(row["media_kind"], row["media_file_name"], row["media_size"],
                     row["media_mime_type"])
    return Media(row["media_kind"], row["media_file_name"], row["media_size"],
                 row["media_mime_type"], row["media_width"], row["media_height"],
                 row["media_duration"])


def stored_post_from_row(row: sqlite3.Row) -> StoredPost:
    """A row of :data:`POST_SELECT` as a :class:`StoredPost`."""
    forward = None
    if row["fwd_channel_id"] is not None or row["fwd_name"] is not None \
            or row["fwd_message_id"] is not None:
        forward = ForwardOrigin(row["fwd_channel_id"], row["fwd_message_id"],
                                from_db_opt(row["fwd_date"]), row["fwd_name"])
    post = Post(
        channel_id=row["channel_id"], message_id=row["message_id"], date=from_db(row["date"]),
        text=row["text"], entities=_entities(row["entities"]), views=row["views"],
        forwards=row["forwards"], replies=row["replies"], reactions=_reactions(row["reactions"]),
        media=_media(row), forward=forward, reply_to_id=row["reply_to_id"],
        grouped_id=row["grouped_id"], author=row["author"],
        edit_date=from_db_opt(row["edit_date"]))
    return StoredPost(
        post=post,
        channel=Channel(row["channel_id"], row["channel_username"], row["channel_title"]),
        captured_via=CapturePath(row["captured_via"]), first_seen=from_db(row["first_seen"]),
        last_seen=from_db(row["last_seen"]), deleted_at=from_db_opt(row["deleted_at"]),
        version=row["version"])


async def last_message_id(db: Database, channel_id: int) -> int | None:
    row = await db.fetchone("SELECT max(message_id) FROM posts WHERE channel_id = ?",
                            (channel_id,))
    return row[0] if row and row[0] is not None else None


async def last_post_dates(db: Database, channel_ids: Sequence[int]) -> dict[int, datetime]:
    """The date of each channel's newest stored post (channels without posts are absent)."""
    out: dict[int, datetime] = {}
    for cid in channel_ids:   # one indexed lookup each: (channel_id, date)
        row = await db.fetchone("SELECT max(date) FROM posts WHERE channel_id = ?", (cid,))
        if row and row[0]:
            out[cid] = from_db(row[0])
    return out
