"""The record of accounts Telegram ended (``account_ends``): written when ``tgmon run``
stops for that reason, read by ``tgmon stats`` and ``/status``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from config.accounts import MAIN
from storage.db import Database
from storage.timefmt import from_db, from_db_opt, to_db


@dataclass(frozen=True)
class AccountEnd:
    id: int
    role: str                   # "user" (a watching account) or "bot"
    at: datetime
    code: str
    reason: str
    notified_at: datetime | None
    resumed_at: datetime | None
    account: str | None = None  # the watching account's name (None: the bot)


def _end(r: sqlite3.Row) -> AccountEnd:
    return AccountEnd(r["id"], r["role"], from_db(r["at"]), r["code"], r["reason"],
                      from_db_opt(r["notified_at"]), from_db_opt(r["resumed_at"]),
                      # a database a reading command did not migrate has no account column
                      r["account"] if "account" in r.keys() else _who(r["role"], None))  # noqa: SIM118


def _who(role: str, account: str | None) -> str | None:
    return (account or MAIN) if role == "user" else None


async def record_end(db: Database, role: str, code: str, reason: str,
                     now: datetime, account: str | None = None) -> AccountEnd:
    """The end of ``role``'s account (a watching account: ``account``, default main);
    the same end found again (by a restart before the account came back) is the row
    already there, not a new one."""
    who = _who(role, account)
    async with db.transaction() as conn:
        cur = await conn.execute(
            "SELECT * FROM account_ends WHERE role = ? AND account IS ? AND code = ? "
            "AND resumed_at IS NULL ORDER BY id DESC LIMIT 1", (role, who, code))
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(
                "INSERT INTO account_ends (role, at, code, reason, account) "
                "VALUES (?, ?, ?, ?, ?) RETURNING *", (role, to_db(now), code, reason, who))
            row = await cur.fetchone()
        assert row is not None
        return _end(row)


async def mark_notified(db: Database, end_id: int, now: datetime) -> None:
    await db.execute("UPDATE account_ends SET notified_at = ? WHERE id = ?",
                     (to_db(now), end_id))


async def mark_resumed(db: Database, roles: tuple[str, ...], now: datetime,
                       accounts: tuple[str, ...] = (MAIN,)) -> None:
    """A run got going with these roles (and, for ``user``, these watching accounts):
    their ends are over."""
    for role in roles:
        for who in (accounts if role == "user" else (None,)):
            await db.execute("UPDATE account_ends SET resumed_at = ? WHERE role = ? AND "
                             "account IS ? AND resumed_at IS NULL", (to_db(now), role, who))


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
