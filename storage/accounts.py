"""The watching accounts: which ones tgmon has run with, which channels each holds,
channels moved between them, and what ``tgmon stats`` and ``/status`` show of each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from config.accounts import ordered
from storage.db import Database
from storage.timefmt import from_db, from_db_opt, to_db


@dataclass(frozen=True)
class Move:
    """A channel moved from one account to another."""

    entry_id: int
    channel_id: int | None      # None: not looked up yet (it moves all the same)
    from_account: str
    to_account: str
    mode: str                   # joined or polled


@dataclass(frozen=True)
class MovedChannel:
    at: datetime
    channel_id: int
    from_account: str
    to_account: str
    mode: str
    why: str


@dataclass(frozen=True)
class AccountFigures:
    """One watching account as ``tgmon stats`` and ``/status`` show it."""

    name: str
    held: int = 0               # watched channels it holds
    joined: int = 0             # ... that it is a member of (Telegram pushes their posts)
    polled: int = 0             # ... beyond every join limit: read on the reconcile schedule
    joining: int = 0            # ... held to be joined, not joined yet
    flood_waits: int = 0        # since the given moment
    failures: int = 0
    ended_code: str | None = None       # Telegram ended it and it is not back
    ended_at: datetime | None = None
    last_started: datetime | None = None

    @property
    def state(self) -> str:
        return "ended" if self.ended_code else "active" if self.last_started else "not run"


async def _has(db: Database, table: str) -> bool:
    return await db.fetchone("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (table,)) is not None


async def note_started(db: Database, names: Iterable[str], now: datetime) -> None:
    at = to_db(now)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO accounts (name, first_seen, last_started) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET last_started = excluded.last_started",
            [(n, at, at) for n in names])


async def apply_moves(db: Database, moves: Sequence[Move], why: str, now: datetime) -> None:
    """Hand channels to other accounts in one transaction: the new holder and mode,
    the channel not joined (by its new holder) yet, and each move journalled."""
    at = to_db(now)
    async with db.transaction() as conn:
        for m in moves:
            await conn.execute("UPDATE watched SET account = ?, mode = ? WHERE id = ?",
                               (m.to_account, m.mode, m.entry_id))
            if m.channel_id is None:
                continue
            await conn.execute("UPDATE capture_state SET joined_at = NULL WHERE channel_id = ?",
                               (m.channel_id,))
            await conn.execute(
                "INSERT INTO channel_moves (at, channel_id, from_account, to_account, mode, "
                "why) VALUES (?, ?, ?, ?, ?, ?)",
                (at, m.channel_id, m.from_account, m.to_account, m.mode, why))


async def recent_moves(db: Database, since: datetime) -> list[MovedChannel]:
    if not await _has(db, "channel_moves"):
        return []
    rows = await db.fetchall(
        "SELECT at, channel_id, from_account, to_account, mode, why FROM channel_moves "
        "WHERE at >= ? ORDER BY id", (to_db(since),))
    return [MovedChannel(from_db(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def account_figures(db: Database, since: datetime) -> list[AccountFigures]:
    """Every account tgmon has run with or that holds channels, ``main`` first, with
    its channels, its flood waits and failures since ``since``, and its state. (A
    database a reading command did not migrate knows one account: ``main``.)"""
    if not await _has(db, "channel_access"):
        return []
    found: dict[str, AccountFigures] = {}

    def put(name: str, **changes: Any) -> None:
        found[name] = replace(found.get(name) or AccountFigures(name), **changes)

    for name, last in await db.fetchall("SELECT name, last_started FROM accounts"):
        put(name, last_started=from_db_opt(last))
    for name, mode, n, joined in await db.fetchall(
            "SELECT w.account, w.mode, count(*), count(s.joined_at) FROM watched w "
            "LEFT JOIN capture_state s USING (channel_id) "
            "WHERE w.removed_at IS NULL AND w.account IS NOT NULL GROUP BY 1, 2"):
        held = (found[name].held if name in found else 0) + n
        if mode == "polled":
            put(name, held=held, polled=n)
        else:
            put(name, held=held, joined=joined, joining=n - joined)
    for name, kind, n in await db.fetchall(
            "SELECT account, kind, count(*) FROM capture_events WHERE at >= ? "
            "AND account IS NOT NULL AND kind IN ('flood_wait', 'error') GROUP BY 1, 2",
            (to_db(since),)):
        put(name, **{"flood_waits" if kind == "flood_wait" else "failures": n})
    for name, code, at in await db.fetchall(
            "SELECT account, code, max(at) FROM account_ends WHERE role = 'user' "
            "AND resumed_at IS NULL AND account IS NOT NULL GROUP BY account"):
        put(name, ended_code=code, ended_at=from_db(at))
    return [found[name] for name in ordered(set(found))]


__all__ = ["AccountFigures", "Move", "MovedChannel", "account_figures",
           "apply_moves", "note_started", "recent_moves"]
