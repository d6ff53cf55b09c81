"""Channels and the history of their usernames and titles."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.models import Channel
from storage.timefmt import to_db


async def record_channel(conn: aiosqlite.Connection, channel: Channel, at: datetime) -> bool:
    """Insert or update a channel inside the caller's transaction.

    A new username or title is kept in ``channel_names``; a ``None`` never erases a
    known value (an export knows no username). Returns True if anything changed.
    """
    now = to_db(at)
    async with conn.execute(
            "SELECT username, title FROM channels WHERE channel_id = ?",
            (channel.channel_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        await conn.execute(
            "INSERT INTO channels (channel_id, username, title, first_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (channel.channel_id, channel.username, channel.title, now, now))
        await conn.execute(
            "INSERT INTO channel_names (channel_id, username, title, seen_at) VALUES (?, ?, ?, ?)",
            (channel.channel_id, channel.username, channel.title, now))
        return True
    username = channel.username if channel.username is not None else row[0]
    title = channel.title if channel.title is not None else row[1]
    if (username, title) == (row[0], row[1]):
        return False
    await conn.execute(
        "UPDATE channels SET username = ?, title = ?, updated_at = ? WHERE channel_id = ?",
        (username, title, now, channel.channel_id))
    await conn.execute(
        "INSERT INTO channel_names (channel_id, username, title, seen_at) VALUES (?, ?, ?, ?)",
        (channel.channel_id, username, title, now))
    return True


async def save_channel(db: Database, channel: Channel, at: datetime) -> bool:
    async with db.transaction() as conn:
        return await record_channel(conn, channel, at)


def _channel(row: sqlite3.Row) -> Channel:
    return Channel(row["channel_id"], row["username"], row["title"])


async def get_channel(db: Database, channel_id: int) -> Channel | None:
    row = await db.fetchone(
        "SELECT channel_id, username, title FROM channels WHERE channel_id = ?", (channel_id,))
    return _channel(row) if row else None


async def find_channel(db: Database, ref: str) -> Channel | None:
    """A channel by username (any case, with or without ``@``) or by numeric id."""
    ref = ref.strip().lstrip("@")
    digits = ref[4:] if ref.startswith("-100") else ref
    if digits.isdigit():
        found = await get_channel(db, int(digits))
        if found:
            return found
    row = await db.fetchone(
        "SELECT channel_id, username, title FROM channels WHERE lower(username) = lower(?) "
        "ORDER BY updated_at DESC LIMIT 1", (ref,))
    return _channel(row) if row else None


async def list_channels(db: Database) -> list[Channel]:
    rows = await db.fetchall(
        "SELECT channel_id, username, title FROM channels "
        "ORDER BY lower(coalesce(username, title))")
    return [_channel(r) for r in rows]


async def channel_names(db: Database, channel_id: int) -> list[tuple[str | None, str | None, str]]:
    """``(username, title, seen_at)`` of every name the channel has had, oldest first."""
    rows = await db.fetchall(
        "SELECT username, title, seen_at FROM channel_names WHERE channel_id = ? ORDER BY id",
        (channel_id,))
    return [(r[0], r[1], r[2]) for r in rows]
