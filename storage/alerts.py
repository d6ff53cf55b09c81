"""Alerts: what each chat was alerted of, the dispatcher's cursor over ``post_changes``,
and the reads the dispatcher needs (changes, posts as of a version, subscribers, chats,
earlier alerts of a story).

:func:`record` writes the alerts of a batch of changes, their outbox messages and the
advanced cursor in one transaction: a crash loses nothing, and a replay of the same
changes finds every alert already there (unique keys) and adds nothing. A chat with a
webhook gets a delivery of each of its alerts in the same transaction
(:func:`storage.webhooks.enqueue`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage import outbox, webhooks
from storage.chats import Chat
from storage.db import Database
from storage.models import CapturePath, Channel, Media, StoredPost
from storage.posts import POST_SELECT, stored_post_from_row
from storage.subscriptions import SavedRule
from storage.timefmt import from_db, from_db_opt, to_db

CURSOR = "alerts"
_CHUNK = 400            # ids per IN (...) list


@dataclass(frozen=True)
class LogChange:
    """One entry of ``post_changes``."""

    seq: int
    kind: str                   # new, edit, delete
    version: int                # the post's version it made (or had, for a deletion)
    at: datetime
    captured_via: CapturePath
    post_id: int


@dataclass(frozen=True)
class PastAlert:
    """A new-post alert already recorded."""

    id: int
    chat_id: int
    post_id: int
    status: str                 # queued, held, released, folded
    story_of: int | None
    outbox_id: int | None


@dataclass(frozen=True)
class AlertRecord:
    """An alert to record (with its outbox message, unless held or folded silently)."""

    chat_id: int
    post_id: int
    kind: str                   # new, edit, delete
    version: int
    seq: int
    status: str                 # queued, held, folded
    reason: str
    rule_ids: tuple[int, ...] = ()
    subscribed: bool = False
    story_root: tuple[int, int] | None = None     # folded: (chat, post) of the first alert
    message: outbox.OutMessage | None = None
    # (chat, post) of the new-post alert whose sent message this one's message edits
    # (a story's line) or answers (an edit or deletion alert)
    target: tuple[int, int] | None = None
    edits_target: bool = False


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# ---- the cursor and the changes ----

async def read_cursor(db: Database) -> int:
    row = await db.fetchone("SELECT seq FROM alert_cursor WHERE name = ?", (CURSOR,))
    return int(row[0]) if row else 0


async def changes_after(db: Database, seq: int, limit: int) -> list[LogChange]:
    rows = await db.fetchall(
        "SELECT seq, kind, version, at, captured_via, post_id FROM post_changes "
        "WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
    return [LogChange(r[0], r[1], r[2], from_db(r[3]), CapturePath(r[4]), r[5]) for r in rows]


# ---- posts ----

def _at_version(stored: StoredPost, v: sqlite3.Row) -> StoredPost:
    """The post as it was at version ``v`` (text and media of that version)."""
    media = None
    if v["media_kind"] is not None:
        now = stored.post.media
        same = now is not None and now.kind == v["media_kind"]
        media = Media(v["media_kind"], v["media_file_name"], v["media_size"],
                      v["media_mime_type"], now.width if same and now else None,
                      now.height if same and now else None,
                      now.duration if same and now else None)
    post = dataclasses.replace(stored.post, text=v["text"], media=media)
    return dataclasses.replace(stored, post=post, version=v["version"])


async def posts_at_versions(db: Database, keys: Iterable[tuple[int, int]]
                            ) -> dict[tuple[int, int], StoredPost]:
    """``(post id, version)`` -> the post as it was at that version (keys of versions
    that do not exist are left out)."""
    wanted = set(keys)
    ids = sorted({post_id for post_id, _ in wanted})
    out: dict[tuple[int, int], StoredPost] = {}
    for chunk in _chunks(ids):
        posts = {r["id"]: stored_post_from_row(r) for r in await db.fetchall(
            f"{POST_SELECT} WHERE p.id IN ({_marks(len(chunk))})", chunk)}
        # Earlier versions are stored rows; the current one is the post (migration 0011).
        for v in await db.fetchall(
                "SELECT post_id, version, text, media_kind, media_file_name, media_size, "
                f"media_mime_type FROM stored_versions WHERE post_id IN ({_marks(len(chunk))}) "
                "UNION ALL SELECT id, version, text, media_kind, media_file_name, media_size, "
                f"media_mime_type FROM posts WHERE id IN ({_marks(len(chunk))})",
                [*chunk, *chunk]):
            key = (v["post_id"], v["version"])
            if key in wanted and v["post_id"] in posts:
                out[key] = _at_version(posts[v["post_id"]], v)
    return out


async def recent_posts(db: Database, since: datetime) -> AsyncIterator[tuple[int, StoredPost]]:
    """``(post id, post)`` of the posts dated from ``since`` on, oldest first."""
    async for row in db.stream(f"{POST_SELECT} WHERE p.date >= ? ORDER BY p.date, p.id",
                               (to_db(since),)):
        yield row["id"], stored_post_from_row(row)


async def channels_by_id(db: Database, ids: Iterable[int]) -> dict[int, Channel]:
    wanted = sorted(set(ids))
    out: dict[int, Channel] = {}
    for chunk in _chunks(wanted):
        for r in await db.fetchall(
                "SELECT channel_id, username, title FROM channels "
                f"WHERE channel_id IN ({_marks(len(chunk))})", chunk):
            out[r[0]] = Channel(r[0], r[1], r[2])
    return out


async def watched_since(db: Database, channel_ids: Iterable[int]) -> dict[int, datetime]:
    """Channel id -> when it joined the watch list (its live entry's ``added_at``)."""
    wanted = sorted(set(channel_ids))
    out: dict[int, datetime] = {}
    for chunk in _chunks(wanted):
        for channel_id, added in await db.fetchall(
                "SELECT channel_id, max(added_at) FROM watched WHERE removed_at IS NULL "
                f"AND channel_id IN ({_marks(len(chunk))}) GROUP BY channel_id", chunk):
            out[channel_id] = from_db(added)
    return out


# ---- who is alerted ----

async def subscribers(db: Database, channel_ids: Iterable[int]) -> dict[int, list[int]]:
    """Channel id -> the chats subscribed to it."""
    wanted = sorted(set(channel_ids))
    out: dict[int, list[int]] = {}
    for chunk in _chunks(wanted):
        for channel_id, chat_id in await db.fetchall(
                "SELECT channel_id, chat_id FROM subscriptions "
                f"WHERE channel_id IN ({_marks(len(chunk))}) ORDER BY chat_id", chunk):
            out.setdefault(channel_id, []).append(chat_id)
    return out


async def chats_by_id(db: Database, ids: Iterable[int]) -> dict[int, Chat]:
    wanted = sorted(set(ids))
    out: dict[int, Chat] = {}
    for chunk in _chunks(wanted):
        for r in await db.fetchall(
                "SELECT chat_id, kind, title, timezone, muted_until, edit_alerts, blocked_at "
                f"FROM chats WHERE chat_id IN ({_marks(len(chunk))})", chunk):
            out[r[0]] = Chat(r[0], r[1], r[2], r[3], from_db_opt(r[4]), bool(r[5]),
                             from_db_opt(r[6]))
    return out


async def all_live_rules(db: Database) -> list[SavedRule]:
    """Every chat's live rules, oldest first (per chat, the order /alerts numbers)."""
    out = []
    async for r in db.stream("SELECT id, chat_id, text, created_at FROM rules "
                             "WHERE deleted_at IS NULL ORDER BY id"):
        out.append(SavedRule(r[0], r[1], r[2], from_db(r[3])))
    return out


@dataclass(frozen=True)
class ChatRule:
    rule: SavedRule
    deleted: bool


async def rule_of_chat(db: Database, chat_id: int, rule_id: str | int) -> ChatRule | None:
    """A rule by id (as a button carries it), live or deleted, if it is the chat's."""
    if isinstance(rule_id, str) and not rule_id.isdigit():
        return None
    r = await db.fetchone("SELECT id, chat_id, text, created_at, deleted_at FROM rules "
                          "WHERE id = ? AND chat_id = ?", (int(rule_id), chat_id))
    if r is None:
        return None
    return ChatRule(SavedRule(r[0], r[1], r[2], from_db(r[3])), r[4] is not None)


# ---- earlier alerts ----

async def new_alerts_of(db: Database, post_ids: Iterable[int]) -> list[PastAlert]:
    """The new-post alerts of these posts, oldest first."""
    wanted = sorted(set(post_ids))
    out: list[PastAlert] = []
    for chunk in _chunks(wanted):
        out += [PastAlert(*r) for r in await db.fetchall(
            "SELECT id, chat_id, post_id, status, story_of, outbox_id FROM alerts "
            f"WHERE kind = 'new' AND post_id IN ({_marks(len(chunk))})", chunk)]
    out.sort(key=lambda a: a.id)
    return out


async def new_alerts_by_id(db: Database, ids: Iterable[int]) -> list[PastAlert]:
    wanted = sorted(set(ids))
    out: list[PastAlert] = []
    for chunk in _chunks(wanted):
        out += [PastAlert(*r) for r in await db.fetchall(
            "SELECT id, chat_id, post_id, status, story_of, outbox_id FROM alerts "
            f"WHERE kind = 'new' AND id IN ({_marks(len(chunk))})", chunk)]
    return out


async def story_members(db: Database, root_ids: Iterable[int]
                        ) -> dict[int, list[tuple[Channel, int, datetime]]]:
    """Root alert id -> (channel, message id, date) of the posts folded into it, in the
    order they were folded."""
    wanted = sorted(set(root_ids))
    out: dict[int, list[tuple[Channel, int, datetime]]] = {}
    for chunk in _chunks(wanted):
        for r in await db.fetchall(
                "SELECT a.story_of, p.channel_id, c.username, c.title, p.message_id, p.date "
                "FROM alerts a JOIN posts p ON p.id = a.post_id JOIN channels c "
                f"ON c.channel_id = p.channel_id WHERE a.story_of IN ({_marks(len(chunk))}) "
                "AND a.status = 'folded' ORDER BY a.id", chunk):
            out.setdefault(r[0], []).append((Channel(r[1], r[2], r[3]), r[4], from_db(r[5])))
    return out


async def outbox_html(db: Database, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    out: dict[int, str] = {}
    for chunk in _chunks(wanted):
        for r in await db.fetchall(
                f"SELECT id, html FROM outbox WHERE id IN ({_marks(len(chunk))})", chunk):
            out[r[0]] = r[1]
    return out


# ---- writing ----

_INSERT_ALERT = (
    "INSERT INTO alerts (chat_id, post_id, kind, version, seq, status, story_of, reason, "
    "rule_ids, subscribed, outbox_id, created_at) VALUES (?, ?, ?, ?, ?, ?, "
    "(SELECT id FROM alerts WHERE chat_id = ? AND post_id = ? AND kind = 'new'), ?, ?, ?, "
    "(SELECT id FROM outbox WHERE dedup_key = ?), ?) ON CONFLICT DO NOTHING"
)


def _alert_row(r: AlertRecord, at: str) -> tuple[Any, ...]:
    root = r.story_root or (None, None)
    return (r.chat_id, r.post_id, r.kind, r.version, r.seq, r.status, root[0], root[1],
            r.reason, ",".join(map(str, r.rule_ids)) or None, int(r.subscribed),
            r.message.dedup_key if r.message else None, at)


async def _targets(conn: aiosqlite.Connection, keys: Sequence[tuple[int, int]]
                   ) -> dict[tuple[int, int], int]:
    """(chat, post) -> the outbox id of that new-post alert's message."""
    out: dict[tuple[int, int], int] = {}
    pairs = json.dumps(sorted(set(keys)))
    async with conn.execute(
            "SELECT chat_id, post_id, outbox_id FROM alerts WHERE kind = 'new' AND "
            "outbox_id IS NOT NULL AND (chat_id, post_id) IN (SELECT json_extract(value, "
            "'$[0]'), json_extract(value, '$[1]') FROM json_each(?))", (pairs,)) as cur:
        for chat_id, post_id, outbox_id in await cur.fetchall():
            out[(chat_id, post_id)] = outbox_id
    return out


async def _write(conn: aiosqlite.Connection, records: Sequence[AlertRecord],
                 now: datetime) -> None:
    at = to_db(now)
    await outbox.enqueue_many(conn, [r.message for r in records if r.message], now)
    await conn.executemany(_INSERT_ALERT, [_alert_row(r, at) for r in records])


async def record(db: Database, records: Sequence[AlertRecord], cursor: int,
                 now: datetime) -> None:
    """Record alerts and their messages and move the cursor to ``cursor``, in one
    transaction. Records that answer or edit an earlier alert's message come after
    every other (their target may be among them)."""
    plain = [r for r in records if r.target is None]
    linked = [r for r in records if r.target is not None]
    written = list(plain)
    async with db.transaction() as conn:
        await _write(conn, plain, now)
        if linked:
            targets = await _targets(conn, [r.target for r in linked if r.target])
            ready = []
            for r in linked:
                target = targets.get(r.target) if r.target else None
                if target is None and r.kind != "new":
                    continue                # a follow-up of an alert that was never sent
                msg = r.message
                if msg is not None:
                    msg = (None if target is None else
                           dataclasses.replace(msg, edit_of=target) if r.edits_target else
                           dataclasses.replace(msg, reply_to_of=target))
                ready.append(dataclasses.replace(r, message=msg))
            await _write(conn, ready, now)
            written += ready
        await webhooks.enqueue(conn, [webhooks.Alerted(
            r.chat_id, r.post_id, r.kind, r.version, r.status, r.reason, r.rule_ids,
            r.subscribed) for r in written], now)
        await conn.execute(
            "INSERT INTO alert_cursor (name, seq, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, "
            "updated_at = excluded.updated_at", (CURSOR, cursor, to_db(now)))


# ---- held alerts (the chat was muted) ----

async def release_held(db: Database, chat_id: int) -> tuple[int, int | None]:
    """At /unmute: mark the chat's held new-post alerts as told; returns how many and
    the id of the first (the "Show them" button lists from there)."""
    async with db.transaction() as conn:
        async with conn.execute(
                "SELECT count(*), min(id) FROM alerts WHERE chat_id = ? AND status = 'held' "
                "AND kind = 'new'", (chat_id,)) as cur:
            row = await cur.fetchone()
        await conn.execute("UPDATE alerts SET status = 'released' "
                           "WHERE chat_id = ? AND status = 'held'", (chat_id,))
    return (int(row[0]), row[1]) if row else (0, None)


async def released_since(db: Database, chat_id: int, first_id: int, limit: int
                         ) -> tuple[list[tuple[StoredPost, str]], int]:
    """Posts held while the chat was muted, from alert ``first_id`` on, oldest first,
    with what matched; and how many there are in all."""
    row = await db.fetchone(
        "SELECT count(*) FROM alerts WHERE chat_id = ? AND id >= ? AND kind = 'new' "
        "AND status = 'released'", (chat_id, first_id))
    rows = await db.fetchall(
        "SELECT p.*, c.username AS channel_username, c.title AS channel_title, "
        "a.reason AS alert_reason FROM alerts a JOIN posts p ON p.id = a.post_id "
        "JOIN channels c ON c.channel_id = p.channel_id WHERE a.chat_id = ? AND a.id >= ? "
        "AND a.kind = 'new' AND a.status = 'released' ORDER BY a.id LIMIT ?",
        (chat_id, first_id, limit))
    found = [(stored_post_from_row(r), str(r["alert_reason"])) for r in rows]
    return found, int(row[0]) if row else 0
