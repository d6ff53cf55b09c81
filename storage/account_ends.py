"""The record of accounts Telegram ended (``account_ends``): written when ``tgmon run``
stops for that reason, read by ``tgmon stats`` and ``/status``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db, from_db_opt, to_db


@dataclass(frozen=True)
class AccountEnd:
    id: int
    role: str                   # "user" (the watching account) or "bot"
    at: datetime
    code: str
    reason: str
    notified_at: datetime | None
    resumed_at: datetime | None


def _end(r: sqlite3.Row) -> AccountEnd:
    return AccountEnd(r["id"], r["role"], from_db(r["at"]), r["code"], r["reason"],
                      from_db_opt(r["notified_at"]), from_db_opt(r["resumed_at"]))


async def record_end(db: Database, role: str, code: str, reason: str,
                     now: datetime) -> AccountEnd:
    """The end of ``role``'s account; the same end found again (by a restart before the
    account came back) is the row already there, not a new one."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "SELECT * FROM account_ends WHERE role = ? AND code = ? AND resumed_at IS NULL "
            "ORDER BY id DESC LIMIT 1", (role, code))
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(
                "INSERT INTO account_ends (role, at, code, reason) VALUES (?, ?, ?, ?) "
                "RETURNING *", (role, to_db(now), code, reason))
            row = await cur.fetchone()
        assert row is not None
        return _end(row)


async def mark_notified(db: Database, end_id: int, now: datetime) -> None:
    await db.execute("UPDATE account_ends SET notified_at = ? WHERE id = ?",
                     (to_db(now), end_id))


async def mark_resumed(db: Database, roles: tuple[str, ...], now: datetime) -> None:
    """A run got going with these accounts: their ends are over."""
    for role in roles:
        await db.execute("UPDATE account_ends SET resumed_at = ? "
                         "WHERE role = ? AND resumed_at IS NULL", (to_db(now), role))


async def recent_ends(db: Database, since: datetime) -> list[AccountEnd]:
    """Ends not over yet, and those since ``since``; oldest first. (A database opened
    without migrating, by a reading command, may not have the table yet: no ends.)"""
    if await db.fetchone("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                         "AND name = 'account_ends'") is None:
        return []
    rows = await db.fetchall(
        "SELECT * FROM account_ends WHERE resumed_at IS NULL OR at >= ? ORDER BY at, id",
        (to_db(since),))
    return [_end(r) for r in rows]
