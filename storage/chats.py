"""People and groups who talk to the bot: their chats, settings and access grants."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db_opt, to_db, to_db_opt


@dataclass(frozen=True)
class Chat:
    chat_id: int
    kind: str                        # 'private' or 'group'
    title: str | None
    timezone: str | None             # None: the default setting applies
    muted_until: datetime | None
    edit_alerts: bool
    blocked_at: datetime | None

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now


@dataclass(frozen=True)
class BotUser:
    user_id: int
    first_name: str | None
    username: str | None
    allowed: bool | None             # an admin's /allow (True) or /deny (False); None: neither


def _chat(r: sqlite3.Row) -> Chat:
    return Chat(r["chat_id"], r["kind"], r["title"], r["timezone"],
                from_db_opt(r["muted_until"]), bool(r["edit_alerts"]),
                from_db_opt(r["blocked_at"]))


async def touch(db: Database, *, chat_id: int, kind: str, title: str | None, user_id: int,
                first_name: str | None, username: str | None, now: datetime) -> None:
    """Record that a person wrote to the bot in a chat (creating both as needed).

    Writing again means the person unblocked the bot, so the block mark is cleared.
    """
    at = to_db(now)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO chats (chat_id, kind, title, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET "
            "title = coalesce(excluded.title, title), last_seen = excluded.last_seen, "
            "blocked_at = CASE WHEN excluded.kind = 'private' THEN NULL ELSE blocked_at END",
            (chat_id, kind, title, at, at))
        await conn.execute(
            "INSERT INTO bot_users (user_id, first_name, username, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "first_name = excluded.first_name, username = excluded.username, "
            "last_seen = excluded.last_seen",
            (user_id, first_name, username, at, at))


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    row = await db.fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
    return _chat(row) if row else None


async def set_timezone(db: Database, chat_id: int, tz: str | None) -> None:
    await db.execute("UPDATE chats SET timezone = ? WHERE chat_id = ?", (tz, chat_id))


async def set_muted_until(db: Database, chat_id: int, until: datetime | None) -> None:
    await db.execute("UPDATE chats SET muted_until = ? WHERE chat_id = ?",
                     (to_db_opt(until), chat_id))


async def set_edit_alerts(db: Database, chat_id: int, on: bool) -> None:
    await db.execute("UPDATE chats SET edit_alerts = ? WHERE chat_id = ?", (int(on), chat_id))


async def mark_blocked(db: Database, chat_id: int, now: datetime) -> None:
    await db.execute("UPDATE chats SET blocked_at = ? WHERE chat_id = ? AND blocked_at IS NULL",
                     (to_db(now), chat_id))


async def grant(db: Database, user_id: int, allowed: bool, by: int, now: datetime) -> None:
    await db.execute(
        "INSERT INTO access_grants (user_id, allowed, changed_by, changed_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET allowed = excluded.allowed, "
        "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        (user_id, int(allowed), by, to_db(now)))


async def grant_of(db: Database, user_id: int) -> bool | None:
    row = await db.fetchone("SELECT allowed FROM access_grants WHERE user_id = ?", (user_id,))
    return None if row is None else bool(row[0])


async def find_user(db: Database, ref: str) -> BotUser | None:
    """A person who wrote to the bot, by numeric id or ``@username``."""
    ref = ref.strip()
    sql = ("SELECT u.user_id, u.first_name, u.username, g.allowed FROM bot_users u "
           "LEFT JOIN access_grants g USING (user_id) WHERE ")
    if ref.lstrip("-").isdigit():
        row = await db.fetchone(sql + "u.user_id = ?", (int(ref),))
    else:
        row = await db.fetchone(sql + "u.username = ?", (ref.lstrip("@"),))
    if row is None:
        return None
    return BotUser(row[0], row[1], row[2], None if row[3] is None else bool(row[3]))


async def list_users(db: Database, limit: int = 200) -> list[BotUser]:
    rows = await db.fetchall(
        "SELECT u.user_id, u.first_name, u.username, g.allowed FROM bot_users u "
        "LEFT JOIN access_grants g USING (user_id) ORDER BY u.last_seen DESC LIMIT ?", (limit,))
    return [BotUser(r[0], r[1], r[2], None if r[3] is None else bool(r[3])) for r in rows]
