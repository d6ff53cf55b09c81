"""The media archive in the database (migrations 0017, 0023): the download queue of media
items, the stored files, and the pause for want of space.

Capture queues a post's file in the same transaction that stores the post
(:func:`queue_media`, called by :func:`storage.posts.store_posts`): keyed by the post and
Telegram's file id, so storing the post again only refreshes the file reference. The
downloader (:mod:`bot.media.downloader`) takes pending items, records each outcome here,
and stores each file once under its SHA-256 (:mod:`storage.mediastore`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.models import FileRef, Post
from storage.timefmt import from_db, from_db_opt, to_db, to_db_opt

STATUSES = ("pending", "done", "too_large", "skipped", "missed", "failed")

# Insert a post's file, or refresh the reference of one already queued. Only a copy of
# the post that is not older than the stored one queues (a late, stale copy of a post
# whose media was since replaced must not bring the old file back as the current one).
# The location is the reading account's (``account``; NULL: not known): a later read by
# another account brings that account's.
_QUEUE = (
    "INSERT INTO media_items (channel_id, message_id, version, file_key, kind, size, "
    "mime_type, file_name, dc_id, access_hash, file_reference, thumb_size, queued_at, "
    "account) "
    "SELECT p.channel_id, p.message_id, p.version, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
    "FROM posts p WHERE p.channel_id = ? AND p.message_id = ? "
    "AND coalesce(p.edit_date, '') <= coalesce(?, '') "
    "ON CONFLICT (channel_id, message_id, file_key) DO UPDATE SET "
    "file_reference = excluded.file_reference, access_hash = excluded.access_hash, "
    "dc_id = excluded.dc_id, account = excluded.account"
)


async def queue_media(conn: aiosqlite.Connection, posts: Sequence[Post],
                      seen_at: datetime, account: str | None = None) -> None:
    """Queue the files of ``posts`` (just stored, inside the caller's transaction), as
    the watching account ``account`` read them (None: not known)."""
    rows = []
    for post in posts:
        m = post.media
        if m is None or m.file is None:
            continue
        f = m.file
        rows.append((f.key, m.kind, m.size, m.mime_type, m.file_name, f.dc_id, f.access_hash,
                     f.file_reference, f.thumb_size or None, to_db(seen_at), account,
                     post.channel_id, post.message_id, to_db_opt(post.edit_date)))
    if rows:
        await conn.executemany(_QUEUE, rows)


@dataclass(frozen=True)
class MediaItem:
    """One file of one post version, as the queue holds it."""

    id: int
    channel_id: int
    message_id: int
    version: int
    file_key: str
    kind: str
    size: int | None
    mime_type: str | None
    file_name: str | None
    file: FileRef | None            # where to fetch it (None: an imported file)
    status: str
    attempts: int
    last_error: str | None
    sha256: str | None
    queued_at: datetime
    not_before: datetime | None = None
    account: str | None = None      # the watching account ``file`` is valid for (None: unknown)


def _item(r: sqlite3.Row) -> MediaItem:
    ref = None
    key = r["file_key"]
    if r["access_hash"] is not None and ":" in key:
        kind, _, raw_id = key.partition(":")
        if kind in ("photo", "document") and raw_id.lstrip("-").isdigit():
            ref = FileRef(kind, int(raw_id), r["access_hash"], bytes(r["file_reference"] or b""),
                          r["dc_id"] or 0, r["thumb_size"] or "")
    return MediaItem(r["id"], r["channel_id"], r["message_id"], r["version"], key, r["kind"],
                     r["size"], r["mime_type"], r["file_name"], ref, r["status"],
                     r["attempts"], r["last_error"], r["sha256"], from_db(r["queued_at"]),
                     from_db_opt(r["not_before"]), r["account"])


async def get_item(db: Database, item_id: int) -> MediaItem | None:
    row = await db.fetchone("SELECT * FROM media_items WHERE id = ?", (item_id,))
    return _item(row) if row else None


async def items_of_post(db: Database, channel_id: int, message_id: int) -> list[MediaItem]:
    rows = await db.fetchall(
        "SELECT * FROM media_items WHERE channel_id = ? AND message_id = ? ORDER BY version, id",
        (channel_id, message_id))
    return [_item(r) for r in rows]


async def next_pending(db: Database, now: datetime, busy: Iterable[int], *,
                       max_size: int | None = None) -> MediaItem | None:
    """The next item to fetch: photos first (an alert may be waiting for one), then in
    the order they were queued; not one ``busy`` elsewhere, not one told to wait, and
    with ``max_size`` only those known to be at most that big."""
    where = ["status = 'pending'", "(not_before IS NULL OR not_before <= ?)",
             f"id NOT {IN_IDS}"]
    params: list[object] = [to_db(now), ids_json(busy)]
    if max_size is not None:
        where.append("size IS NOT NULL AND size <= ?")
        params.append(max_size)
    row = await db.fetchone(
        f"SELECT * FROM media_items WHERE {' AND '.join(where)} "
        "ORDER BY kind != 'photo', id LIMIT 1", params)
    return _item(row) if row else None


async def next_wakeup(db: Database) -> datetime | None:
    """When the earliest item told to wait may be tried again."""
    row = await db.fetchone(
        "SELECT min(not_before) FROM media_items WHERE status = 'pending' "
        "AND not_before IS NOT NULL")
    return from_db_opt(row[0]) if row else None


async def set_status(db: Database, item_id: int, status: str, error: str | None = None, *,
                     attempt: bool = False) -> None:
    """An outcome that ends the item's download (too_large, skipped, missed, failed)."""
    if status not in STATUSES:
        raise ValueError(f"unknown media status {status!r}")
    await db.execute(
        "UPDATE media_items SET status = ?, last_error = ?, not_before = NULL, "
        "attempts = attempts + ? WHERE id = ?", (status, error, int(attempt), item_id))


async def retry_at(db: Database, item_id: int, error: str, when: datetime, *,
                   attempt: bool = True) -> None:
    """The item stays pending and waits until ``when``."""
    await db.execute(
        "UPDATE media_items SET last_error = ?, not_before = ?, attempts = attempts + ? "
        "WHERE id = ?", (error, to_db(when), int(attempt), item_id))


async def set_reference(db: Database, item_id: int, ref: FileRef,
                        account: str | None = None) -> None:
    """A fresh file reference (read with the message again by ``account``)."""
    await db.execute(
        "UPDATE media_items SET file_reference = ?, access_hash = ?, dc_id = ?, account = ? "
        "WHERE id = ?", (ref.file_reference, ref.access_hash, ref.dc_id, account, item_id))


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: str
    mime_type: str | None = None
    phash: str | None = None


async def record_done(db: Database, item_id: int, stored: StoredFile, now: datetime) -> None:
    """The item's file is in the store: record the file (once per content) and the item."""
    async with db.transaction() as conn:
        await store_file(conn, stored, now)
        await conn.execute(
            "UPDATE media_items SET status = 'done', sha256 = ?, fetched_at = ?, "
            "last_error = NULL, not_before = NULL, attempts = attempts + 1 WHERE id = ?",
            (stored.sha256, to_db(now), item_id))


async def store_file(conn: aiosqlite.Connection, stored: StoredFile, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO media_files (sha256, size, path, mime_type, phash, stored_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
        "phash = coalesce(media_files.phash, excluded.phash)",
        (stored.sha256, stored.size, stored.path, stored.mime_type, stored.phash, to_db(now)))


async def file_by_sha256(db: Database, sha256: str) -> StoredFile | None:
    row = await db.fetchone("SELECT * FROM media_files WHERE sha256 = ?", (sha256,))
    return StoredFile(row["sha256"], row["size"], row["path"], row["mime_type"],
                      row["phash"]) if row else None


async def stored_bytes(db: Database) -> int:
    row = await db.fetchone("SELECT coalesce(sum(size), 0) FROM media_files")
    return int(row[0]) if row else 0


async def reopen(db: Database, kinds: Sequence[str], max_size: int) -> int:
    """Items skipped or too large under earlier settings that the current ones admit go
    back to the queue. Returns how many."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE media_items SET status = 'pending', last_error = NULL, not_before = NULL "
            "WHERE status IN ('skipped', 'too_large') AND file_key NOT LIKE 'import:%' "
            f"AND kind {IN_IDS} AND coalesce(size, 0) <= ?",
            (json.dumps(list(kinds)), max_size))
        return cur.rowcount


# ---- the pause for want of space ----

@dataclass(frozen=True)
class Pause:
    reason: str                     # disk_full or budget
    detail: str
    since: datetime
    told_at: datetime | None


async def get_pause(db: Database) -> Pause | None:
    row = await db.fetchone("SELECT * FROM media_pause WHERE id = 1")
    return Pause(row["reason"], row["detail"], from_db(row["since"]),
                 from_db_opt(row["told_at"])) if row else None


async def set_pause(db: Database, reason: str, detail: str, now: datetime) -> Pause:
    """Downloads pause (kept across restarts); the same pause again changes nothing."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO media_pause (id, reason, detail, since) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET detail = excluded.detail, "
            "reason = excluded.reason, told_at = iif(media_pause.reason = excluded.reason, "
            "media_pause.told_at, NULL), since = iif(media_pause.reason = excluded.reason, "
            "media_pause.since, excluded.since)", (reason, detail, to_db(now)))
    pause = await get_pause(db)
    assert pause is not None
    return pause


async def mark_told(db: Database, now: datetime) -> None:
    await db.execute("UPDATE media_pause SET told_at = ? WHERE id = 1", (to_db(now),))


async def clear_pause(db: Database) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute("DELETE FROM media_pause")
        return cur.rowcount > 0


# ---- reading: counts, files, media of posts ----

@dataclass(frozen=True)
class MediaCounts:
    by_status: dict[str, int]                   # status -> items
    by_kind: dict[str, dict[str, int]]          # kind -> status -> items
    files: int                                  # distinct files stored
    bytes: int                                  # their size
    pending_bytes: int                          # announced size of pending items
    failures: list[tuple[str, int, int, str]]   # (channel, message id, kind, last error)
    pause: Pause | None


async def counts(db: Database, *, failures: int = 10) -> MediaCounts:
    by_status = {s: 0 for s in STATUSES}
    by_kind: dict[str, dict[str, int]] = {}
    for r in await db.fetchall(
            "SELECT kind, status, count(*) AS n FROM media_items GROUP BY kind, status"):
        by_status[r["status"]] += r["n"]
        by_kind.setdefault(r["kind"], {})[r["status"]] = r["n"]
    files = await db.fetchone("SELECT count(*), coalesce(sum(size), 0) FROM media_files")
    pending = await db.fetchone(
        "SELECT coalesce(sum(size), 0) FROM media_items WHERE status = 'pending'")
    rows = await db.fetchall(
        "SELECT coalesce(c.username, CAST(m.channel_id AS TEXT)) AS channel, m.message_id, "
        "m.kind, coalesce(m.last_error, '') AS error FROM media_items m "
        "LEFT JOIN channels c USING (channel_id) WHERE m.status IN ('failed', 'missed') "
        "ORDER BY m.id DESC LIMIT ?", (failures,))
    return MediaCounts(by_status, by_kind, int(files[0]) if files else 0,
                       int(files[1]) if files else 0, int(pending[0]) if pending else 0,
                       [(r["channel"], r["message_id"], r["kind"], r["error"]) for r in rows],
                       await get_pause(db))


async def all_files(db: Database) -> AsyncIterator[StoredFile]:
    """Every stored file, streamed."""
    async for r in db.stream("SELECT sha256, size, path, mime_type, phash FROM media_files "
                             "ORDER BY path"):
        yield StoredFile(r["sha256"], r["size"], r["path"], r["mime_type"], r["phash"])


@dataclass(frozen=True)
class PostMedia:
    """A post's current media item, as alerts and exports show it."""

    item_id: int
    channel_id: int
    message_id: int
    kind: str
    status: str
    sha256: str | None
    path: str | None
    phash: str | None
    queued_at: datetime


async def media_of_posts(db: Database, post_ids: Iterable[int]) -> dict[int, PostMedia]:
    """The current media item of each post (by ``posts.id``) that has one: the latest
    item not newer than the post's version."""
    ids = ids_json(post_ids)
    if ids == "[]":
        return {}
    rows = await db.fetchall(
        "SELECT p.id AS post_id, m.id, m.channel_id, m.message_id, m.kind, m.status, "
        "m.sha256, f.path, f.phash, m.queued_at FROM posts p "
        "JOIN media_items m ON m.id = (SELECT x.id FROM media_items x "
        "  WHERE x.channel_id = p.channel_id AND x.message_id = p.message_id "
        "  AND x.version <= p.version ORDER BY x.version DESC, x.id DESC LIMIT 1) "
        f"LEFT JOIN media_files f ON f.sha256 = m.sha256 WHERE p.id {IN_IDS} "
        "AND p.media_kind IS NOT NULL", (ids,))
    return {r["post_id"]: PostMedia(r["id"], r["channel_id"], r["message_id"], r["kind"],
                                    r["status"], r["sha256"], r["path"], r["phash"],
                                    from_db(r["queued_at"])) for r in rows}


async def photo_hashes_since(db: Database, since: datetime
                             ) -> AsyncIterator[tuple[int, str]]:
    """``(post id, perceptual hash)`` of posts dated from ``since`` whose photo is stored
    (the alert dispatcher's story index, rebuilt at start)."""
    async for r in db.stream(
            "SELECT p.id, f.phash FROM posts p JOIN media_items m "
            "ON m.channel_id = p.channel_id AND m.message_id = p.message_id "
            "JOIN media_files f ON f.sha256 = m.sha256 "
            "WHERE p.date >= ? AND f.phash IS NOT NULL ORDER BY p.date",
            (to_db(since),)):
        yield r[0], r[1]


@dataclass(frozen=True)
class ChannelReaders:
    """Who may read a channel's messages again (for its files): its holder and each
    account's access hash of it."""

    holder: str | None              # the account holding it (of its latest entry)
    watched: bool                   # a live entry: a lost holder's channel moves
    hashes: dict[str, int]          # account -> its access hash of the channel


async def channel_readers(db: Database, channel_id: int) -> ChannelReaders:
    """The channel's holder (the live entry's, else the latest removed one's) and every
    account's access hash of it (``channel_access``)."""
    row = await db.fetchone(
        "SELECT account, removed_at IS NULL FROM watched WHERE channel_id = ? "
        "ORDER BY removed_at IS NOT NULL, id DESC LIMIT 1", (channel_id,))
    hashes = await db.fetchall(
        "SELECT account, access_hash FROM channel_access WHERE channel_id = ?",
        (channel_id,))
    return ChannelReaders(row[0] if row else None, bool(row[1]) if row else False,
                          {r[0]: int(r[1]) for r in hashes})


async def phashes_of_posts(db: Database, post_ids: Iterable[int]) -> dict[int, str]:
    """Perceptual hash of each post's stored photo, by ``posts.id``."""
    rows = await db.fetchall(
        "SELECT p.id, f.phash FROM posts p JOIN media_items m ON m.channel_id = p.channel_id "
        "AND m.message_id = p.message_id JOIN media_files f ON f.sha256 = m.sha256 "
        f"WHERE p.id {IN_IDS} AND f.phash IS NOT NULL ORDER BY m.version, m.id",
        (ids_json(post_ids),))
    return {r[0]: r[1] for r in rows}


async def phashes_of_messages(db: Database, keys: Iterable[tuple[int, int]]
                              ) -> dict[tuple[int, int], str]:
    """Perceptual hash of each stored photo, by (channel id, message id)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await db.fetchall(
        "SELECT m.channel_id, m.message_id, f.phash FROM json_each(?) k "
        "JOIN media_items m ON m.channel_id = k.value ->> 0 AND m.message_id = k.value ->> 1 "
        "JOIN media_files f ON f.sha256 = m.sha256 WHERE f.phash IS NOT NULL "
        "ORDER BY m.version, m.id", (json.dumps(wanted),))
    return {(r[0], r[1]): r[2] for r in rows}
