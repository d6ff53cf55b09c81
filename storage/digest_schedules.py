"""Each chat's digest schedule, and the mark of the latest digest it was sent.

A chat without a row follows the defaults (daily at ``TGMON_DIGEST_TIME``, enabled).
The mark (:func:`record_sent`) is written inside the transaction that puts the
digest's messages in the outbox, and only if no other digest moved it meanwhile: the
database, not the scheduler's memory, decides that a digest was sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time

import aiosqlite

from storage.db import Database
from storage.timefmt import from_db, from_db_opt, to_db, to_db_opt


@dataclass(frozen=True)
class DigestSchedule:
    chat_id: int
    at: time | None = None               # local time; None: the default setting
    days: tuple[str, ...] = ()           # 'mon' ... 'sun'; empty: every day
    enabled: bool = True
    set_by: int | None = None            # who last changed it
    changed_at: datetime | None = None   # schedule or time zone last changed
    last_due: datetime | None = None     # due time of the latest scheduled digest sent
    period_end: datetime | None = None   # end of the period the latest digest covered
    last_sent_at: datetime | None = None


@dataclass(frozen=True)
class ChatSchedule:
    """A chat as the scheduler needs it: where it is, since when, and its schedule."""

    chat_id: int
    kind: str                            # 'private' or 'group'
    timezone: str | None                 # None: the default setting
    first_seen: datetime
    blocked: bool
    schedule: DigestSchedule


_COLUMNS = ("s.at_time, s.days, s.enabled, s.set_by, s.changed_at, s.last_due, "
            "s.period_end, s.last_sent_at")


def _schedule(chat_id: int, r: sqlite3.Row) -> DigestSchedule:
    if r["enabled"] is None:             # no row (LEFT JOIN): the defaults
        return DigestSchedule(chat_id)
    at = r["at_time"]
    return DigestSchedule(
        chat_id, time.fromisoformat(at) if at else None,
        tuple(r["days"].split(",")) if r["days"] else (), bool(r["enabled"]), r["set_by"],
        from_db_opt(r["changed_at"]), from_db_opt(r["last_due"]),
        from_db_opt(r["period_end"]), from_db_opt(r["last_sent_at"]))


def _chat_schedule(r: sqlite3.Row) -> ChatSchedule:
    return ChatSchedule(r["chat_id"], r["kind"], r["timezone"], from_db(r["first_seen"]),
                        r["blocked_at"] is not None, _schedule(r["chat_id"], r))


_SELECT = (f"SELECT c.chat_id, c.kind, c.timezone, c.first_seen, c.blocked_at, {_COLUMNS} "
           "FROM chats c LEFT JOIN digest_schedules s USING (chat_id)")


async def get_chat_schedule(db: Database, chat_id: int) -> ChatSchedule | None:
    row = await db.fetchone(f"{_SELECT} WHERE c.chat_id = ?", (chat_id,))
    return _chat_schedule(row) if row else None


async def stream_chat_schedules(db: Database) -> AsyncIterator[ChatSchedule]:
    """Every chat the bot knows, with its schedule (defaults where it has no row)."""
    async for row in db.stream(f"{_SELECT} ORDER BY c.chat_id"):
        yield _chat_schedule(row)


async def _upsert(conn: aiosqlite.Connection, chat_id: int) -> None:
    await conn.execute("INSERT OR IGNORE INTO digest_schedules (chat_id) VALUES (?)", (chat_id,))


async def set_time(db: Database, chat_id: int, at: time, days: tuple[str, ...], by: int,
                   now: datetime) -> None:
    """A new local time and weekdays (empty: every day); this also turns digests on."""
    async with db.transaction() as conn:
        await _upsert(conn, chat_id)
        await conn.execute(
            "UPDATE digest_schedules SET at_time = ?, days = ?, enabled = 1, set_by = ?, "
            "changed_at = ? WHERE chat_id = ?",
            (at.strftime("%H:%M"), ",".join(days) or None, by, to_db(now), chat_id))


async def set_enabled(db: Database, chat_id: int, enabled: bool, by: int,
                      now: datetime) -> None:
    async with db.transaction() as conn:
        await _upsert(conn, chat_id)
        await conn.execute(
            "UPDATE digest_schedules SET enabled = ?, set_by = ?, changed_at = ? "
            "WHERE chat_id = ?", (int(enabled), by, to_db(now), chat_id))


async def note_changed(db: Database, chat_id: int, now: datetime) -> None:
    """Something the schedule depends on changed (the chat's time zone)."""
    async with db.transaction() as conn:
        await _upsert(conn, chat_id)
        await conn.execute("UPDATE digest_schedules SET changed_at = ? WHERE chat_id = ?",
                           (to_db(now), chat_id))


async def record_sent(conn: aiosqlite.Connection, chat_id: int, *, due: datetime | None,
                      period_end: datetime, expected_end: datetime | None,
                      now: datetime) -> bool:
    """Inside the caller's transaction: mark a digest covering up to ``period_end`` as
    sent (``due``: its scheduled time; None for one sent on request). False, and nothing
    written, if the mark is no longer ``expected_end`` (another digest went meanwhile)."""
    await _upsert(conn, chat_id)
    cur = await conn.execute(
        "UPDATE digest_schedules SET last_due = coalesce(?, last_due), period_end = ?, "
        "last_sent_at = ? WHERE chat_id = ? AND period_end IS ?",
        (to_db_opt(due), to_db(period_end), to_db(now), chat_id, to_db_opt(expected_end)))
    return cur.rowcount == 1


async def group_sponsor(db: Database, chat_id: int) -> int | None:
    """Whose access a group's scheduled digests follow: who last changed its schedule,
    else who last subscribed it to a channel or gave it a live alert rule."""
    row = await db.fetchone("SELECT set_by FROM digest_schedules WHERE chat_id = ?",
                            (chat_id,))
    if row and row[0] is not None:
        return int(row[0])
    row = await db.fetchone(
        "SELECT who FROM (SELECT created_by AS who, created_at AS at FROM subscriptions "
        "WHERE chat_id = :chat UNION ALL SELECT created_by, created_at FROM rules "
        "WHERE chat_id = :chat AND deleted_at IS NULL) ORDER BY at DESC LIMIT 1",
        {"chat": chat_id})
    return int(row[0]) if row else None
