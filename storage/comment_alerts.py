"""What the comment alerter reads and writes: comments stored after its cursor
(``alert_cursor`` row ``comments``, over ``comments.id``), and the alerts it decided,
recorded with their outbox messages and the moved cursor in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.models import Channel, Comment
from storage.outbox import OutMessage, enqueue
from storage.timefmt import from_db, from_db_opt, to_db

CURSOR = "comments"


@dataclass(frozen=True)
class StoredComment:
    row_id: int
    comment: Comment
    channel: Channel
    first_seen: datetime


@dataclass(frozen=True)
class CommentAlert:
    chat_id: int
    row_id: int
    reason: str
    rule_ids: str
    message: OutMessage


async def read_cursor(db: Database) -> int | None:
    row = await db.fetchone("SELECT seq FROM alert_cursor WHERE name = ?", (CURSOR,))
    return int(row[0]) if row else None


async def start_cursor(db: Database, now: datetime) -> int:
    """The cursor on the alerter's first run: after the comments stored before it (they
    were captured when nobody could have asked to be alerted of them)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO alert_cursor (name, seq, updated_at) "
            "SELECT ?, coalesce(max(id), 0), ? FROM comments", (CURSOR, to_db(now)))
    cursor = await read_cursor(db)
    assert cursor is not None
    return cursor


async def comments_after(db: Database, after: int, limit: int = 200) -> list[StoredComment]:
    rows = await db.fetchall(
        "SELECT m.*, c.username AS channel_username, c.title AS channel_title "
        "FROM comments m JOIN channels c USING (channel_id) WHERE m.id > ? "
        "ORDER BY m.id LIMIT ?", (after, limit))
    return [StoredComment(
        r["id"],
        Comment(r["group_id"], r["comment_id"], r["channel_id"], r["post_id"],
                from_db(r["date"]), r["text"], (), r["from_id"], r["from_name"],
                r["from_username"], r["reply_to"], None, from_db_opt(r["edit_date"])),
        Channel(r["channel_id"], r["channel_username"], r["channel_title"]),
        from_db(r["first_seen"])) for r in rows]


async def record(db: Database, alerts: Sequence[CommentAlert], cursor: int,
                 now: datetime) -> int:
    """Record alerts and the moved cursor; returns how many alerts are new."""
    at = to_db(now)
    added = 0
    async with db.transaction() as conn:
        for a in alerts:
            if not await enqueue(conn, a.message, now):
                continue                                  # its dedup key: recorded before
            async with conn.execute("SELECT last_insert_rowid()") as cur:
                row = await cur.fetchone()
            await conn.execute(
                "INSERT OR IGNORE INTO comment_alerts (chat_id, comment_row, reason, rule_ids, "
                "outbox_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (a.chat_id, a.row_id, a.reason, a.rule_ids, row[0] if row else None, at))
            added += 1
        await conn.execute(
            "INSERT INTO alert_cursor (name, seq, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq), "
            "updated_at = excluded.updated_at", (CURSOR, cursor, at))
    return added
