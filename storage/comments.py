"""Comments on watched channels' posts (migration comments): stored like posts (idempotent
upserts keyed on the group and message id, a new version when the text or media
changed, tombstones), the read cursor of each post's thread, and which channels have
comments captured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.models import CapturePath, Comment
from storage.posts import entities_json
from storage.timefmt import from_db_opt, to_db, to_db_opt

_COLUMNS = ("group_id", "comment_id", "channel_id", "post_id", "date", "text", "entities",
            "from_id", "from_name", "from_username", "reply_to", "media_kind",
            "media_file_name", "media_size", "media_mime_type", "edit_date", "first_seen",
            "last_seen", "captured_via")

_FRESH = "coalesce(excluded.edit_date, '') >= coalesce(comments.edit_date, '')"
_NEWER = (f"((comments.text IS NOT excluded.text OR comments.media_kind IS NOT "
          f"excluded.media_kind) AND {_FRESH})")


def _content(col: str) -> str:
    return f"{col} = CASE WHEN {_NEWER} THEN excluded.{col} ELSE comments.{col} END"


_UPSERT = (
    f"INSERT INTO comments ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (group_id, comment_id) DO UPDATE SET "
    + ", ".join(
        [_content(c) for c in ("text", "media_kind", "media_file_name", "media_size",
                               "media_mime_type")]
        + [f"entities = CASE WHEN {_FRESH} THEN excluded.entities ELSE comments.entities END",
           f"edit_date = CASE WHEN {_FRESH} THEN coalesce(excluded.edit_date, "
           "comments.edit_date) ELSE comments.edit_date END",
           "from_name = coalesce(excluded.from_name, comments.from_name)",
           "from_username = coalesce(excluded.from_username, comments.from_username)",
           "last_seen = max(comments.last_seen, excluded.last_seen)",
           f"version = comments.version + ({_NEWER})"]))


def comment_row(c: Comment, path: CapturePath, seen_at: datetime) -> tuple[Any, ...]:
    m = c.media
    seen = to_db(seen_at)
    return (c.group_id, c.comment_id, c.channel_id, c.post_id, to_db(c.date), c.text,
            entities_json(c.entities), c.from_id, c.from_name, c.from_username, c.reply_to,
            m.kind if m else None, m.file_name if m else None, m.size if m else None,
            m.mime_type if m else None, to_db_opt(c.edit_date), seen, seen, str(path))


@dataclass(frozen=True)
class CommentResult:
    new: int = 0
    edited: int = 0
    deleted: int = 0

    def __add__(self, other: CommentResult) -> CommentResult:
        return CommentResult(self.new + other.new, self.edited + other.edited,
                             self.deleted + other.deleted)


async def _totals(conn: aiosqlite.Connection, group_id: int) -> tuple[int, int, int]:
    async with conn.execute(
            "SELECT count(*), coalesce(sum(version), 0), count(deleted_at) FROM comments "
            "WHERE group_id = ?", (group_id,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def store_comments(db: Database, group_id: int, comments: Sequence[Comment],
                         path: CapturePath, now: datetime, *,
                         deleted_ids: Iterable[int] = (),
                         thread: tuple[int, int, int] | None = None,
                         replies: int | None = None) -> CommentResult:
    """Store what one read of a group found, in one transaction: comments (new ones, new
    versions), tombstones of ``deleted_ids``, and, with ``thread`` = ``(channel_id,
    post_id, read_id)``, the thread's advanced cursor (and the post's comment count
    when the read reached its end)."""
    gone = sorted(set(deleted_ids))
    async with db.transaction() as conn:
        before = await _totals(conn, group_id)
        if comments:
            await conn.executemany(_UPSERT, [comment_row(c, path, now) for c in comments])
        if gone:
            await conn.execute(
                f"UPDATE comments SET deleted_at = ? WHERE group_id = ? AND comment_id {IN_IDS} "
                "AND deleted_at IS NULL", (to_db(now), group_id, ids_json(gone)))
        if thread is not None:
            channel_id, post_id, read_id = thread
            await conn.execute(
                "INSERT INTO comment_threads (channel_id, post_id, group_id, read_id, replies, "
                "read_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, post_id) DO "
                "UPDATE SET read_id = max(read_id, excluded.read_id), group_id = "
                "excluded.group_id, replies = coalesce(excluded.replies, replies), "
                "read_at = excluded.read_at",
                (channel_id, post_id, group_id, read_id, replies, to_db(now)))
        after = await _totals(conn, group_id)
    return CommentResult(after[0] - before[0], after[1] - before[1] - (after[0] - before[0]),
                         after[2] - before[2])


@dataclass(frozen=True)
class Thread:
    post_id: int
    replies: int | None          # the post's comment count at its last read
    read_id: int                 # comments read up to this id (0: none)
    seen_replies: int | None     # the count when the thread was last read to its end


async def threads_to_read(db: Database, channel_id: int, since: datetime,
                          limit: int = 500) -> list[Thread]:
    """Posts of the channel dated ``since`` or later with comments newer than their
    thread's cursor (Telegram tells the newest comment's id with each read of the post),
    or whose comment count differs from the count at their thread's last full read:
    the threads with comments to catch up on, newest post first."""
    rows = await db.fetchall(
        "SELECT p.message_id, p.replies, coalesce(t.read_id, 0), t.replies FROM posts p "
        "LEFT JOIN comment_threads t ON t.channel_id = p.channel_id "
        "AND t.post_id = p.message_id "
        "LEFT JOIN post_details d ON d.post_id = p.id "
        "WHERE p.channel_id = ? AND p.date >= ? AND p.deleted_at IS NULL AND p.replies > 0 "
        "AND (t.replies IS NULL OR t.replies != p.replies "
        "     OR coalesce(d.comments_max_id, 0) > coalesce(t.read_id, 0)) "
        "ORDER BY p.message_id DESC LIMIT ?", (channel_id, to_db(since), limit))
    return [Thread(r[0], r[1], r[2], r[3]) for r in rows]


async def recent_comment_ids(db: Database, channel_id: int, since: datetime,
                             limit: int = 2000) -> dict[int, dict[int, int]]:
    """``group id -> {comment id: post id}`` of the live comments on the channel's posts
    dated ``since`` or later (the comments' re-check window), the newest ``limit``."""
    rows = await db.fetchall(
        "SELECT c.group_id, c.comment_id, c.post_id FROM comments c JOIN posts p "
        "ON p.channel_id = c.channel_id AND p.message_id = c.post_id "
        "WHERE c.channel_id = ? AND p.date >= ? AND c.deleted_at IS NULL "
        "ORDER BY c.comment_id DESC LIMIT ?", (channel_id, to_db(since), limit))
    out: dict[int, dict[int, int]] = {}
    for group_id, comment_id, post_id in rows:
        out.setdefault(group_id, {})[comment_id] = post_id
    return out


# ---- which channels ---------------------------------------------------------------

async def set_comments(db: Database, username: str, enabled: bool, by: int | None,
                       now: datetime) -> None:
    await db.execute(
        "INSERT INTO comment_channels (username, enabled, changed_at, changed_by) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET enabled = excluded.enabled, "
        "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
        (username.lstrip("@"), int(enabled), to_db(now), by))


async def comment_choices(db: Database) -> dict[str, bool]:
    """``username (lower case) -> on/off`` as admins chose (the setting decides the rest)."""
    rows = await db.fetchall("SELECT username, enabled FROM comment_channels")
    return {r[0].lower(): bool(r[1]) for r in rows}


async def comments_of_post(db: Database, channel_id: int, post_id: int) -> list[dict[str, Any]]:
    """A post's comments as rows (for tests and the sqlite3 shell's users), oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM comments WHERE channel_id = ? AND post_id = ? ORDER BY comment_id",
        (channel_id, post_id))
    out = []
    for r in rows:
        d = dict(r)
        d["entities"] = json.loads(d["entities"]) if d["entities"] else []
        d["edit_date"] = from_db_opt(d["edit_date"])
        out.append(d)
    return out
