"""The watch list: channels from the config file plus those admins add with /watch."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import to_db

STATUSES = ("pending", "ok", "unresolved", "private", "gone")


@dataclass(frozen=True)
class WatchEntry:
    id: int
    username: str
    label: str | None
    source: str                  # 'config' or 'admin'
    channel_id: int | None       # None until resolved
    access_hash: int | None
    status: str                  # one of STATUSES
    status_detail: str | None
    title: str | None = None     # the channel's current title, once known

    @property
    def resolved(self) -> bool:
        return self.channel_id is not None and self.access_hash is not None


_SELECT = (
    "SELECT w.id, w.username, w.label, w.source, w.channel_id, w.access_hash, w.status, "
    "w.status_detail, c.title FROM watched w LEFT JOIN channels c USING (channel_id) "
    "WHERE w.removed_at IS NULL"
)


def _entry(r: sqlite3.Row) -> WatchEntry:
    return WatchEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])


async def live_entries(db: Database) -> list[WatchEntry]:
    rows = await db.fetchall(f"{_SELECT} ORDER BY w.id")
    return [_entry(r) for r in rows]


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
                       now: datetime) -> None:
    await db.execute(
        "UPDATE watched SET channel_id = ?, access_hash = ?, status = 'ok', "
        "status_detail = NULL, status_at = ? WHERE id = ?",
        (channel_id, access_hash, to_db(now), entry_id))


async def set_status(db: Database, entry_id: int, status: str, detail: str | None,
                     now: datetime) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown watch status {status!r}")
    await db.execute(
        "UPDATE watched SET status = ?, status_detail = ?, status_at = ? WHERE id = ?",
        (status, detail, to_db(now), entry_id))


async def previous_resolution(db: Database, username: str) -> tuple[int, int] | None:
    """``(channel_id, access_hash)`` of a removed entry for the same username whose
    channel still has that username: watching it again needs no new resolution."""
    row = await db.fetchone(
        "SELECT w.channel_id, w.access_hash FROM watched w JOIN channels c USING (channel_id) "
        "WHERE w.removed_at IS NOT NULL AND w.access_hash IS NOT NULL "
        "AND lower(c.username) = lower(?) ORDER BY w.removed_at DESC LIMIT 1",
        (username.lstrip("@"),))
    return (row[0], row[1]) if row else None
