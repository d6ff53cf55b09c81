"""What the watcher writes besides posts: per-channel read cursors and progress, and the
journal of reconnects, flood waits and failures.

Everything one read of Telegram found (posts, service message ids, ids found missing,
tombstones, the advanced cursor) is written by :func:`save_batch` in one transaction, so
a cursor never runs ahead of the posts it covers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.channels import record_channel
from storage.db import Database
from storage.details import store_details, store_service
from storage.metrics import record_samples
from storage.models import CapturePath, Channel, Post, ServiceMessage
from storage.posts import StoreResult, mark_deleted, note_absent, store_posts
from storage.timefmt import from_db_opt, to_db

EVENT_KINDS = ("reconnect", "flood_wait", "error", "recovered", "joined")


@dataclass(frozen=True)
class CaptureState:
    channel_id: int
    synced_id: int | None = None
    synced_at: datetime | None = None
    rechecked_at: datetime | None = None
    last_capture: datetime | None = None
    joined_at: datetime | None = None
    backfill_floor: int | None = None
    backfill_complete: bool = False


@dataclass(frozen=True)
class Batch:
    """What one read of a channel found, to be stored together."""

    channel_id: int
    channel: Channel | None = None              # the channel as Telegram showed it
    posts: Sequence[Post] = ()
    service_ids: Sequence[int] = ()             # service messages: not posts
    services: Sequence[ServiceMessage] = ()     # those of them kept (title, photo, pin...)
    missing_ids: Sequence[int] = ()             # ids a complete read did not return
    deleted_ids: Sequence[int] = ()             # posts deleted on Telegram (tombstones)
    synced_id: int | None = None                # new cursor: all ids up to it were read
    backfill_floor: int | None = None           # backfill read down to this id
    backfill_complete: bool = False


async def _ensure(conn: aiosqlite.Connection, channel_id: int) -> None:
    await conn.execute("INSERT OR IGNORE INTO capture_state (channel_id) VALUES (?)",
                       (channel_id,))


async def save_batch(db: Database, batch: Batch, path: CapturePath,
                     now: datetime, account: str | None = None) -> StoreResult:
    """Store a batch in one transaction; ``account``: the watching account that read it
    (its posts' files are fetched with that account: docs/media.md)."""
    cid = batch.channel_id
    at = to_db(now)
    async with db.transaction() as conn:
        if batch.channel is not None:
            await record_channel(conn, batch.channel, now)
        result = await store_posts(conn, batch.posts, path, now, bulk=True, account=account)
        await record_samples(conn, batch.posts, now)
        await store_details(conn, batch.posts, now)
        if batch.services:
            await store_service(conn, batch.services, now)
        if batch.deleted_ids:
            result += await mark_deleted(conn, cid, batch.deleted_ids, now)
        if batch.service_ids:
            await note_absent(conn, cid, batch.service_ids, "service", now)
        if batch.missing_ids:
            # Only ids that are not stored posts: a post is never explained away.
            await conn.executemany(
                "INSERT OR IGNORE INTO absent_messages (channel_id, message_id, reason, noted_at) "
                "SELECT ?, ?, 'deleted', ? WHERE NOT EXISTS "
                "(SELECT 1 FROM posts WHERE channel_id = ? AND message_id = ?)",
                [(cid, mid, at, cid, mid) for mid in batch.missing_ids])
        await _ensure(conn, cid)
        if result.new:
            await conn.execute("UPDATE capture_state SET last_capture = ? WHERE channel_id = ?",
                               (at, cid))
        if batch.synced_id is not None:
            await conn.execute(
                "UPDATE capture_state SET synced_id = max(coalesce(synced_id, 0), ?) "
                "WHERE channel_id = ?", (batch.synced_id, cid))
        if batch.backfill_floor is not None:
            await conn.execute(
                "UPDATE capture_state SET backfill_floor = min(coalesce(backfill_floor, ?), ?), "
                "backfill_complete = max(backfill_complete, ?) WHERE channel_id = ?",
                (batch.backfill_floor, batch.backfill_floor, int(batch.backfill_complete), cid))
    return result


def _state(r: sqlite3.Row) -> CaptureState:
    return CaptureState(r["channel_id"], r["synced_id"], from_db_opt(r["synced_at"]),
                        from_db_opt(r["rechecked_at"]), from_db_opt(r["last_capture"]),
                        from_db_opt(r["joined_at"]), r["backfill_floor"],
                        bool(r["backfill_complete"]))


async def get_state(db: Database, channel_id: int) -> CaptureState | None:
    row = await db.fetchone("SELECT * FROM capture_state WHERE channel_id = ?", (channel_id,))
    return _state(row) if row else None


async def init_state(db: Database, channel_id: int) -> CaptureState:
    """The channel's state, created when the watcher first takes it on. A channel whose
    posts are already in the log (an import, an older tgmon) continues after the newest
    one; a new channel has no cursor yet (its initial window is read)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO capture_state (channel_id, synced_id) "
            "SELECT ?, (SELECT max(message_id) FROM posts WHERE channel_id = ?)",
            (channel_id, channel_id))
    state = await get_state(db, channel_id)
    assert state is not None
    return state


async def all_states(db: Database) -> dict[int, CaptureState]:
    return {r["channel_id"]: _state(r)
            for r in await db.fetchall("SELECT * FROM capture_state")}


async def mark_synced(db: Database, channel_id: int, synced_id: int, now: datetime) -> None:
    """A forward read reached the channel's newest message (``synced_id``) at ``now``."""
    async with db.transaction() as conn:
        await _ensure(conn, channel_id)
        await conn.execute(
            "UPDATE capture_state SET synced_id = max(coalesce(synced_id, 0), ?), "
            "synced_at = ? WHERE channel_id = ?", (synced_id, to_db(now), channel_id))


async def set_rechecked(db: Database, channel_id: int, now: datetime) -> None:
    async with db.transaction() as conn:
        await _ensure(conn, channel_id)
        await conn.execute("UPDATE capture_state SET rechecked_at = ? WHERE channel_id = ?",
                           (to_db(now), channel_id))


async def set_joined(db: Database, channel_id: int, now: datetime | None) -> None:
    """The holding account was seen to be a member of the channel at ``now``; None: it
    is not (the channel moved to an account that has not joined it yet)."""
    async with db.transaction() as conn:
        await _ensure(conn, channel_id)
        if now is None:
            await conn.execute("UPDATE capture_state SET joined_at = NULL WHERE channel_id = ?",
                               (channel_id,))
            return
        await conn.execute(
            "UPDATE capture_state SET joined_at = coalesce(joined_at, ?) WHERE channel_id = ?",
            (to_db(now), channel_id))


async def add_event(db: Database, kind: str, channel_id: int | None, detail: str | None,
                    now: datetime, account: str | None = None) -> None:
    """Journal what happened to the capture; ``account``: the watching account it
    happened to (a flood wait, a failure, a reconnect, a join)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown capture event {kind!r}")
    await db.execute("INSERT INTO capture_events (at, kind, channel_id, detail, account) "
                     "VALUES (?, ?, ?, ?, ?)", (to_db(now), kind, channel_id, detail, account))


@dataclass(frozen=True)
class EventCounts:
    """Events since some moment: per channel and kind, and client-wide by kind."""

    per_channel: dict[tuple[int, str], int]
    client: dict[str, int]
    last: dict[tuple[int | None, str], datetime]

    def of(self, channel_id: int, kind: str) -> int:
        return self.per_channel.get((channel_id, kind), 0)


async def event_counts(db: Database, since: datetime | None = None) -> EventCounts:
    rows = await db.fetchall(
        "SELECT channel_id, kind, count(*), max(at) FROM capture_events WHERE at >= ? "
        "GROUP BY channel_id, kind", (to_db(since) if since else "",))
    per_channel: dict[tuple[int, str], int] = {}
    client: dict[str, int] = {}
    last: dict[tuple[int | None, str], datetime] = {}
    for cid, kind, n, at in rows:
        if cid is None:
            client[kind] = n
        else:
            per_channel[(cid, kind)] = n
        last[(cid, kind)] = from_db_opt(at) or datetime.min
    return EventCounts(per_channel, client, last)


async def recent_ids(db: Database, channel_id: int, since: datetime,
                     limit: int = 5000) -> list[int]:
    """Ids of the channel's posts dated ``since`` or later that are not tombstoned,
    newest first (the re-check window)."""
    rows = await db.fetchall(
        "SELECT message_id FROM posts WHERE channel_id = ? AND date >= ? AND deleted_at IS NULL "
        "ORDER BY message_id DESC LIMIT ?", (channel_id, to_db(since), limit))
    return [r[0] for r in rows]


async def unexplained_ids(db: Database, channel_id: int, low: int, high: int,
                          limit: int = 1000) -> list[int]:
    """Ids between ``low`` and ``high`` (included) that are neither stored posts nor noted
    absent: messages tgmon never saw."""
    if high < low:
        return []
    rows = await db.fetchall(
        "WITH RECURSIVE ids (id) AS (SELECT ? UNION ALL SELECT id + 1 FROM ids WHERE id < ?) "
        "SELECT id FROM ids WHERE id NOT IN "
        "(SELECT message_id FROM posts WHERE channel_id = ? AND message_id BETWEEN ? AND ?) "
        "AND id NOT IN (SELECT message_id FROM absent_messages WHERE channel_id = ? "
        "AND message_id BETWEEN ? AND ?) LIMIT ?",
        (low, high, channel_id, low, high, channel_id, low, high, limit))
    return [r[0] for r in rows]
