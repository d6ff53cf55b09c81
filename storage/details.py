"""Storing the fields researchers cite (:class:`storage.models.PostDetails`) and the
service messages of watched channels, beside the posts (migration post_details).

A post's details row holds the latest state Telegram showed (poll votes, pinned); a
post that has none of them has no row, and a row is cleared, not deleted, when a later
read shows them gone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import aiosqlite

from storage.ids import IN_IDS, ids_json
from storage.models import Post, PostDetails, ServiceMessage
from storage.timefmt import to_db

_COLUMNS = ("restriction_reason", "noforwards", "pinned", "webpage_url", "webpage_site",
            "webpage_title", "webpage_description", "poll", "geo", "contact", "dice",
            "topic_id", "via_bot_id", "sender_id", "sender_name", "comments_max_id")


def _json(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def details_row(d: PostDetails) -> tuple[Any, ...]:
    """The ``post_details`` values of ``d``, in ``_COLUMNS`` order."""
    w = d.webpage
    return (
        _json([asdict(r) for r in d.restrictions]), int(d.noforwards), int(d.pinned),
        w.url if w else None, w.site if w else None, w.title if w else None,
        w.description if w else None,
        _json(asdict(d.poll)) if d.poll else None, _json(d.geo), _json(d.contact),
        _json(d.dice), d.topic_id, d.via_bot_id, d.sender_id, d.sender_name,
        d.comments_max_id,
    )


_UPSERT = (
    f"INSERT INTO post_details (post_id, {', '.join(_COLUMNS)}, updated_at) "
    f"SELECT p.id, {', '.join('?' for _ in _COLUMNS)}, ? FROM posts p "
    "WHERE p.channel_id = ? AND p.message_id = ? "
    "ON CONFLICT (post_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
    + ", updated_at = excluded.updated_at"
)


async def store_details(conn: aiosqlite.Connection, posts: Sequence[Post],
                        now: datetime) -> None:
    """Keep the details of posts read from Telegram (inside the caller's transaction,
    after the posts): a row for those with any, cleared for those that lost them."""
    at = to_db(now)
    full = [(*details_row(p.details), at, p.channel_id, p.message_id)
            for p in posts if p.details is not None and not p.details.empty]
    if full:
        await conn.executemany(_UPSERT, full)
    # Posts read without details: clear a row only where there is one (most have none,
    # and one query per batch finds them).
    bare: dict[int, list[Post]] = {}
    for p in posts:
        if p.details is not None and p.details.empty:
            bare.setdefault(p.channel_id, []).append(p)
    for channel_id, found in bare.items():
        async with conn.execute(
                "SELECT p.message_id FROM post_details d JOIN posts p ON p.id = d.post_id "
                f"WHERE p.channel_id = ? AND p.message_id {IN_IDS}",
                (channel_id, ids_json(p.message_id for p in found))) as cur:
            had = {r[0] for r in await cur.fetchall()}
        if had:
            await conn.executemany(_UPSERT, [
                (*details_row(p.details), at, p.channel_id, p.message_id)
                for p in found if p.message_id in had and p.details is not None])


async def store_service(conn: aiosqlite.Connection, messages: Sequence[ServiceMessage],
                        now: datetime) -> None:
    """Keep service messages (inside the caller's transaction); a message seen again
    changes nothing."""
    await conn.executemany(
        "INSERT OR IGNORE INTO service_messages (channel_id, message_id, date, action, detail, "
        "noted_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(m.channel_id, m.message_id, to_db(m.date), m.action, _json(m.detail), to_db(now))
         for m in messages])
