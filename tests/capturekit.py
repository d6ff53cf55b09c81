"""Helpers for the capture tests: waiting on the database in virtual time, reading what
was captured, and a record of what the simulated channels really published."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simkit import until as until  # re-exported for the capture tests

from storage.db import Database
from storage.watchlist import find_entry


async def resolved(db: Database, username: str) -> bool:
    entry = await find_entry(db, username)
    return entry is not None and entry.resolved


async def rows(db: Database, channel_id: int) -> dict[int, Any]:
    """message id -> the posts row of every stored post of a channel."""
    found = await db.fetchall("SELECT * FROM posts WHERE channel_id = ?", (channel_id,))
    return {r["message_id"]: r for r in found}


async def versions(db: Database, channel_id: int) -> dict[int, list[str]]:
    """message id -> the texts of its versions, oldest first."""
    found = await db.fetchall(
        "SELECT p.message_id, v.text FROM post_versions v JOIN posts p ON p.id = v.post_id "
        "WHERE p.channel_id = ? ORDER BY p.message_id, v.version", (channel_id,))
    out: dict[int, list[str]] = {}
    for r in found:
        out.setdefault(r[0], []).append(r[1])
    return out


async def absent(db: Database, channel_id: int) -> dict[int, str]:
    found = await db.fetchall(
        "SELECT message_id, reason FROM absent_messages WHERE channel_id = ?", (channel_id,))
    return {r[0]: r[1] for r in found}


async def events(db: Database, kind: str) -> list[Any]:
    return await db.fetchall("SELECT * FROM capture_events WHERE kind = ? ORDER BY id", (kind,))


@dataclass
class Published:
    """What the world really did, per channel: every post's texts in order, deletions,
    and posts nobody could have seen (created and deleted while tgmon was down)."""

    world: Any
    texts: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    deleted: set[tuple[int, int]] = field(default_factory=set)
    unseeable: set[tuple[int, int]] = field(default_factory=set)

    def post(self, channel: Any, text: str, **kw: Any) -> int:
        p = self.world.post(channel, text, **kw)
        self.texts[(channel.id, p.id)] = [text]
        return int(p.id)

    def edit(self, channel: Any, message_id: int, text: str) -> None:
        self.world.edit(channel, message_id, text)
        self.texts[(channel.id, message_id)].append(text)

    def delete(self, channel: Any, *message_ids: int) -> None:
        self.world.delete(channel, list(message_ids))
        self.deleted |= {(channel.id, m) for m in message_ids}

    def capturable(self, channel_id: int) -> dict[int, list[str]]:
        return {mid: t for (cid, mid), t in self.texts.items()
                if cid == channel_id and (cid, mid) not in self.unseeable}
