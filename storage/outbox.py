"""The durable outbox: record a message before sending it; mark it when sent.

At-least-once: a message is marked sent right after Telegram accepted it, so a crash
between the two sends it again after restart; nothing is ever lost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.timefmt import from_db, from_db_opt, to_db

# Lower goes first: people waiting for an answer come before broadcasts.
PRIORITY = {"reply": 0, "notice": 1, "alert": 2, "digest": 3, "export": 3, "webhook": 2}
# Webhook deliveries (kind 'webhook', storage.webhooks) have a sender of their own: the
# queries here are Telegram's and leave them out, so neither waits behind the other.


@dataclass(frozen=True)
class OutMessage:
    chat_id: int
    kind: str                                   # a key of PRIORITY
    html: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()   # rows of (label, data)
    dedup_key: str | None = None
    file_name: str | None = None
    file_data: bytes | None = None
    as_photo: bool = False
    not_before: datetime | None = None
    edit_of: int | None = None                  # outbox id of a sent message to edit instead
    reply_to_of: int | None = None              # outbox id of a sent message to answer
    # An alert of a photo post: the media item whose photo goes with it, and the message
    # as the photo's caption (Telegram's 1024 units); also, for an edit, the caption to
    # put in place when the message it edits went with its photo.
    media_item: int | None = None
    caption_html: str | None = None


@dataclass(frozen=True)
class Pending:
    id: int
    chat_id: int
    chat_kind: str                              # 'private' or 'group' (private if unknown)
    message: OutMessage
    attempts: int
    not_before: datetime
    chat_blocked: bool = False                  # the chat blocked the bot: do not try
    target_status: str | None = None            # of the message edit_of names
    target_message_id: int | None = None        # Telegram's id of the message edit_of names
    reply_to_message_id: int | None = None      # Telegram's id of the message reply_to_of names
    target_sent_photo: bool = False             # the message edit_of names went as a caption
    photo_status: str | None = None             # of media_item: pending, done, missed, ...
    photo_path: str | None = None               # its file in the media archive, once stored
    photo_queued_at: datetime | None = None     # when its download was queued


_INSERT = (
    "INSERT OR IGNORE INTO outbox (chat_id, kind, priority, dedup_key, html, buttons, "
    "file_name, file_data, as_photo, created_at, not_before, edit_of, reply_to_of, "
    "media_item, caption_html) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(msg: OutMessage, now: datetime) -> tuple[object, ...]:
    if msg.kind not in PRIORITY:
        raise ValueError(f"unknown outbox kind {msg.kind!r}")
    buttons = json.dumps([[{"label": lb, "data": d} for lb, d in row] for row in msg.buttons],
                         ensure_ascii=False) if msg.buttons else None
    return (msg.chat_id, msg.kind, PRIORITY[msg.kind], msg.dedup_key, msg.html, buttons,
            msg.file_name, msg.file_data, int(msg.as_photo), to_db(now),
            to_db(msg.not_before or now), msg.edit_of, msg.reply_to_of, msg.media_item,
            msg.caption_html)


async def enqueue(conn: aiosqlite.Connection, msg: OutMessage, now: datetime) -> bool:
    """Record a message inside the caller's transaction. False if its dedup key was
    already used (the message was enqueued before)."""
    cur = await conn.execute(_INSERT, _row(msg, now))
    return cur.rowcount == 1


async def enqueue_many(conn: aiosqlite.Connection, msgs: Sequence[OutMessage],
                       now: datetime) -> None:
    """Record many messages inside the caller's transaction, in order (one round trip);
    those whose dedup key was used before are skipped."""
    if msgs:
        await conn.executemany(_INSERT, [_row(m, now) for m in msgs])


async def put(db: Database, msg: OutMessage, now: datetime) -> bool:
    async with db.transaction() as conn:
        return await enqueue(conn, msg, now)


def _pending(r: sqlite3.Row) -> Pending:
    buttons = tuple(tuple((b["label"], b["data"]) for b in row)
                    for row in json.loads(r["buttons"])) if r["buttons"] else ()
    msg = OutMessage(r["chat_id"], r["kind"], r["html"], buttons, r["dedup_key"],
                     r["file_name"], r["file_data"], bool(r["as_photo"]),
                     from_db(r["not_before"]), r["edit_of"], r["reply_to_of"],
                     r["media_item"], r["caption_html"])
    return Pending(r["id"], r["chat_id"], r["chat_kind"] or "private", msg, r["attempts"],
                   from_db(r["not_before"]), r["blocked_at"] is not None,
                   r["target_status"], r["target_message_id"], r["reply_to_message_id"],
                   bool(r["target_sent_photo"]), r["photo_status"], r["photo_path"],
                   from_db_opt(r["photo_queued_at"]))


async def due(db: Database, now: datetime, limit: int = 500, *,
              heads: bool = False) -> list[Pending]:
    """Pending messages to Telegram that may go now, in sending order (priority, then
    age).

    With ``heads``, only the first of each chat: what the sender can send this round (a
    chat's later messages wait for its first), so a long queue for one chat never hides
    the other chats' messages behind it.
    """
    rank = "row_number() OVER (PARTITION BY chat_id ORDER BY priority, id)" if heads else "1"
    rows = await db.fetchall(
        "SELECT o.*, c.kind AS chat_kind, c.blocked_at, t.status AS target_status, "
        "t.message_id AS target_message_id, r.message_id AS reply_to_message_id, "
        "t.sent_photo AS target_sent_photo, mi.status AS photo_status, "
        "mf.path AS photo_path, mi.queued_at AS photo_queued_at "
        f"FROM (SELECT id, {rank} AS n FROM outbox "
        "      WHERE status = 'pending' AND kind != 'webhook' AND not_before <= ?) h "
        "JOIN outbox o ON o.id = h.id AND h.n = 1 LEFT JOIN chats c USING (chat_id) "
        "LEFT JOIN outbox t ON t.id = o.edit_of LEFT JOIN outbox r ON r.id = o.reply_to_of "
        "LEFT JOIN media_items mi ON mi.id = o.media_item "
        "LEFT JOIN media_files mf ON mf.sha256 = mi.sha256 "
        "ORDER BY o.priority, o.id LIMIT ?",
        (to_db(now), limit))
    return [_pending(r) for r in rows]


async def next_due_time(db: Database) -> datetime | None:
    row = await db.fetchone("SELECT min(not_before) FROM outbox WHERE status = 'pending' "
                            "AND kind != 'webhook'")
    return from_db(row[0]) if row and row[0] else None


async def mark_sent(db: Database, item_id: int, message_id: int | None, now: datetime, *,
                    photo: bool = False) -> None:
    """Sent (``photo``: as the caption of its photo)."""
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, file_data = NULL, "
        "sent_photo = ?, attempts = attempts + 1 WHERE id = ?",
        (to_db(now), message_id, int(photo), item_id))


async def wait_until(db: Database, item_id: int, reason: str, not_before: datetime) -> None:
    """Hold a message back until ``not_before`` without counting an attempt (an alert
    waiting for its photo)."""
    await db.execute("UPDATE outbox SET last_error = ?, not_before = ? WHERE id = ?",
                     (reason, to_db(not_before), item_id))


async def captions(db: Database, ids: Iterable[int]) -> dict[int, str]:
    """The caption form of messages that have one, by outbox id."""
    rows = await db.fetchall(
        f"SELECT id, caption_html FROM outbox WHERE id {IN_IDS} AND caption_html IS NOT NULL",
        (ids_json(ids),))
    return {r[0]: r[1] for r in rows}


async def retry_later(db: Database, item_id: int, error: str, not_before: datetime) -> None:
    await db.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE id = ?",
        (error, to_db(not_before), item_id))


async def give_up(db: Database, item_id: int, error: str) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? "
        "WHERE id = ?", (error, item_id))


async def drop_chat(db: Database, chat_id: int, reason: str) -> int:
    """Stop every pending message to a chat (it blocked the bot); returns how many."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = ? "
            "WHERE chat_id = ? AND status = 'pending' AND kind != 'webhook'",
            (reason, chat_id))
        return cur.rowcount


async def pending_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM outbox WHERE status = 'pending' "
                            "AND kind != 'webhook'")
    return int(row[0]) if row else 0
