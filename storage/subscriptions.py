"""What each chat asked for: channel subscriptions and alert rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.models import Channel
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class SavedRule:
    id: int
    chat_id: int
    text: str
    created_at: datetime


async def subscribe(db: Database, chat_id: int, channel_id: int, by: int,
                    now: datetime) -> bool:
    """Returns False if the chat was already subscribed."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, channel_id, created_by, created_at) "
            "VALUES (?, ?, ?, ?)", (chat_id, channel_id, by, to_db(now)))
        return cur.rowcount == 1


async def unsubscribe(db: Database, chat_id: int, channel_id: int) -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "DELETE FROM subscriptions WHERE chat_id = ? AND channel_id = ?",
            (chat_id, channel_id))
        return cur.rowcount == 1


async def subscribed_channels(db: Database, chat_id: int) -> list[Channel]:
    rows = await db.fetchall(
        "SELECT c.channel_id, c.username, c.title FROM subscriptions s "
        "JOIN channels c USING (channel_id) WHERE s.chat_id = ? "
        "ORDER BY lower(coalesce(c.username, c.title))", (chat_id,))
    return [Channel(r[0], r[1], r[2]) for r in rows]


async def add_rule(db: Database, chat_id: int, text: str, by: int, now: datetime) -> SavedRule:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO rules (chat_id, text, created_by, created_at) VALUES (?, ?, ?, ?)",
            (chat_id, text, by, to_db(now)))
        rule_id = cur.lastrowid
    assert rule_id is not None
    return SavedRule(rule_id, chat_id, text, now.replace(microsecond=0))


async def live_rules(db: Database, chat_id: int) -> list[SavedRule]:
    """The chat's rules in the order they were added (``/alerts`` numbers them 1, 2, ...)."""
    rows = await db.fetchall(
        "SELECT id, chat_id, text, created_at FROM rules "
        "WHERE chat_id = ? AND deleted_at IS NULL ORDER BY id", (chat_id,))
    return [SavedRule(r[0], r[1], r[2], from_db(r[3])) for r in rows]


async def delete_rule(db: Database, rule_id: int, now: datetime) -> None:
    await db.execute("UPDATE rules SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                     (to_db(now), rule_id))
