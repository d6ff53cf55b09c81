"""The watch list: channels from the config file plus those admins add with /watch."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from config.accounts import MAIN
from storage.db import Database
from storage.timefmt import to_db

STATUSES = ("pending", "ok", "unresolved", "private", "gone")
MODES = ("joined", "polled")     # how the holding account follows a channel


@dataclass(frozen=True)
class WatchEntry:
    id: int
    username: str
    label: str | None
    source: str                  # 'config' or 'admin'
    channel_id: int | None       # None until resolved
    access_hash: int | None      # the holding account's; None until it has looked it up
    status: str                  # one of STATUSES
    status_detail: str | None
    title: str | None = None     # the channel's current title, once known
    account: str | None = None   # the watching account that holds it; None: not placed
    mode: str | None = None      # one of MODES (None: not placed)
    current_username: str | None = None     # the channel's username as last seen

    @property
    def resolved(self) -> bool:
        """The holding account can name the channel (its id and that account's hash)."""
        return self.channel_id is not None and self.access_hash is not None

    @property
    def lookup_name(self) -> str:
        """The username to look the channel up by: its current one, once known."""
        return self.current_username or self.username


_SELECT = (
    "SELECT w.id, w.username, w.label, w.source, w.channel_id, a.access_hash, w.status, "
    "w.status_detail, c.title, w.account, w.mode, c.username FROM watched w "
    "LEFT JOIN channels c USING (channel_id) "
    "LEFT JOIN channel_access a ON a.channel_id = w.channel_id AND a.account = w.account "
    "WHERE w.removed_at IS NULL"
)


def _entry(r: sqlite3.Row) -> WatchEntry:
    return WatchEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                      r[11])


async def live_entries(db: Database) -> list[WatchEntry]:
    rows = await db.fetchall(f"{_SELECT} ORDER BY w.id")
    return [_entry(r) for r in rows]


async def entry_by_id(db: Database, entry_id: int) -> WatchEntry | None:
    """A live entry by its id (None once removed)."""
    row = await db.fetchone(f"{_SELECT} AND w.id = ?", (entry_id,))
    return _entry(row) if row else None


async def held_counts(db: Database) -> dict[tuple[str | None, str | None], int]:
    """How many live entries each watching account holds per mode."""
    rows = await db.fetchall("SELECT account, mode, count(*) FROM watched "
                             "WHERE removed_at IS NULL GROUP BY 1, 2")
    return {(r[0], r[1]): r[2] for r in rows}


async def find_entry(db: Database, ref: str) -> WatchEntry | None:
    """A live entry by username (any case, ``@`` optional) or channel id."""
    ref = ref.strip().lstrip("@")
    digits = ref[4:] if ref.startswith("-100") else ref
    if digits.isdigit():
        row = await db.fetchone(f"{_SELECT} AND w.channel_id = ?", (int(digits),))
        if row:
            return _entry(row)
    row = await db.fetchone(
        f"{_SELECT} AND (w.username = ? OR lower(c.username) = lower(?))", (ref, ref))
    return _entry(row) if row else None


async def sync_config(db: Database, channels: Iterable[tuple[str, str | None]],
                      now: datetime) -> None:
    """Make the config-file part of the list match ``(username, label)`` pairs: add new
    ones, relabel, and retire config entries no longer in the file. Admin entries stay."""
    wanted = {u.lower(): (u, label) for u, label in channels}
    at = to_db(now)
    async with db.transaction() as conn:
        async with conn.execute(
                "SELECT id, username, source FROM watched WHERE removed_at IS NULL") as cur:
            live = {r[1].lower(): (r[0], r[2]) for r in await cur.fetchall()}
        for key, (username, label) in wanted.items():
            if key in live:
                await conn.execute("UPDATE watched SET label = ? WHERE id = ?",
                                   (label, live[key][0]))
            else:
                await conn.execute(
                    "INSERT INTO watched (username, label, source, added_at) "
                    "VALUES (?, ?, 'config', ?)", (username, label, at))
        for key, (entry_id, source) in live.items():
            if source == "config" and key not in wanted:
                await conn.execute("UPDATE watched SET removed_at = ? WHERE id = ?",
                                   (at, entry_id))


async def add_entry(db: Database, username: str, label: str | None, added_by: int,
                    now: datetime) -> WatchEntry:
    """Add (or return the existing live) entry for a username."""
    existing = await find_entry(db, username)
    if existing:
        return existing
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO watched (username, label, source, added_by, added_at) "
            "VALUES (?, ?, 'admin', ?, ?)", (username.lstrip("@"), label, added_by, to_db(now)))
    found = await find_entry(db, username)
    assert found is not None
    return found


async def remove_entry(db: Database, entry_id: int, now: datetime) -> None:
    await db.execute("UPDATE watched SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                     (to_db(now), entry_id))


async def set_resolved(db: Database, entry_id: int, channel_id: int, access_hash: int,
                       now: datetime, account: str = MAIN) -> None:
    """The entry's username is the channel ``channel_id``; ``account`` looked it up and
    got ``access_hash`` (valid for that account only). An entry no account holds yet
    is held by that account from now on (the watcher decides how)."""
    at = to_db(now)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE watched SET channel_id = ?, status = 'ok', status_detail = NULL, "
            "status_at = ?, account = coalesce(account, ?) WHERE id = ?",
            (channel_id, at, account, entry_id))
        await _keep_access(conn, account, channel_id, access_hash, at)


async def save_access(db: Database, account: str, channel_id: int, access_hash: int,
                      now: datetime) -> None:
    """``account``'s access hash of a channel (looked up again after a move)."""
    async with db.transaction() as conn:
        await _keep_access(conn, account, channel_id, access_hash, to_db(now))


async def _keep_access(conn: aiosqlite.Connection, account: str, channel_id: int,
                       access_hash: int, at: str) -> None:
    await conn.execute(
        "INSERT INTO channel_access (account, channel_id, access_hash, resolved_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (account, channel_id) DO UPDATE SET "
        "access_hash = excluded.access_hash, resolved_at = excluded.resolved_at",
        (account, channel_id, access_hash, at))
    if account == MAIN:     # watched.access_hash: main's, as before accounts were several
        await conn.execute("UPDATE watched SET access_hash = ? WHERE channel_id = ?",
                           (access_hash, channel_id))


async def access_hash_of(db: Database, account: str, channel_id: int) -> int | None:
    row = await db.fetchone("SELECT access_hash FROM channel_access WHERE account = ? AND "
                            "channel_id = ?", (account, channel_id))
    return row[0] if row else None


async def set_holder(db: Database, entry_id: int, account: str | None,
                     mode: str | None) -> None:
    """Which account holds the entry's channel, and how (``joined`` or ``polled``)."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    await db.execute("UPDATE watched SET account = ?, mode = ? WHERE id = ?",
                     (account, mode, entry_id))


async def set_status(db: Database, entry_id: int, status: str, detail: str | None,
                     now: datetime) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown watch status {status!r}")
    await db.execute(
        "UPDATE watched SET status = ?, status_detail = ?, status_at = ? WHERE id = ?",
        (status, detail, to_db(now), entry_id))


async def previous_resolution(db: Database, username: str,
                              account: str = MAIN) -> tuple[int, int] | None:
    """``(channel_id, access_hash)`` of a channel ``account`` looked up before (for a
    removed entry) that still has that username: watching it again with that account
    needs no new look-up."""
    row = await db.fetchone(
        "SELECT a.channel_id, a.access_hash FROM channel_access a "
        "JOIN channels c USING (channel_id) WHERE a.account = ? "
        "AND lower(c.username) = lower(?) ORDER BY a.resolved_at DESC LIMIT 1",
        (account, username.lstrip("@")))
    return (row[0], row[1]) if row else None
