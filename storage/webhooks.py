"""Webhooks: a chat's URL and secret (``/webhook``), and the deliveries of its alerts.

Each alert the dispatcher records for a chat with a webhook also puts a delivery in the
outbox (kind ``webhook``), in the same transaction (:func:`enqueue`): the alert as JSON
(:func:`body`, pure), keyed so that a replay of the log never delivers it twice. The
webhook sender (:mod:`bot.delivery.webhooks`) POSTs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage import outbox
from storage.db import Database
from storage.export import export_record, version_record_sql
from storage.timefmt import from_db, to_db

KIND = "webhook"            # the outbox kind of a delivery


@dataclass(frozen=True)
class Webhook:
    chat_id: int
    url: str
    secret: str
    created_by: int
    created_at: datetime


async def set_webhook(db: Database, chat_id: int, url: str, secret: str, by: int,
                      now: datetime) -> None:
    """Give the chat this webhook (replacing its earlier one and secret)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO webhooks (chat_id, url, secret, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET url = excluded.url, "
            "secret = excluded.secret, created_by = excluded.created_by, "
            "created_at = excluded.created_at", (chat_id, url, secret, by, to_db(now)))


async def remove_webhook(db: Database, chat_id: int) -> int:
    """Remove the chat's webhook and drop its undelivered alerts; returns how many."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM webhooks WHERE chat_id = ?", (chat_id,))
        cur = await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = '/webhook off' "
            "WHERE chat_id = ? AND kind = 'webhook' AND status = 'pending'", (chat_id,))
        return cur.rowcount


async def webhook_of(db: Database, chat_id: int) -> Webhook | None:
    r = await db.fetchone("SELECT chat_id, url, secret, created_by, created_at FROM webhooks "
                          "WHERE chat_id = ?", (chat_id,))
    return None if r is None else Webhook(r[0], r[1], r[2], r[3], from_db(r[4]))


# ---- deliveries ------------------------------------------------------------------

@dataclass(frozen=True)
class Alerted:
    """An alert as recorded, what its delivery says of it."""

    chat_id: int
    post_id: int
    kind: str                   # new, edit, delete
    version: int
    status: str                 # queued, held (the chat was muted), folded (same story)
    reason: str
    rule_ids: tuple[int, ...] = ()
    subscribed: bool = False


def body(alert: Alerted, record: dict[str, Any], rules: dict[int, str],
         at: datetime) -> str:
    """The JSON a webhook receives for an alert (pure): the post as ``tgmon export``
    writes it (at the version the alert is of), why it alerted, its link and kind."""
    reasons: list[dict[str, Any]] = [
        {"rule_id": rid, "rule": rules[rid]} for rid in alert.rule_ids if rid in rules]
    if alert.subscribed:
        reasons.append({"subscription": record["channel"]})
    return json.dumps({
        "kind": alert.kind, "chat_id": alert.chat_id, "link": record["url"],
        "reason": alert.reason, "reasons": reasons, "status": alert.status,
        "alerted_at": to_db(at), "post": record,
    }, ensure_ascii=False, separators=(",", ":"))


def dedup_key(alert: Alerted) -> str:
    return f"webhook:{alert.chat_id}:{alert.post_id}:{alert.kind}:{alert.version}"


async def enqueue(conn: aiosqlite.Connection, alerts: Sequence[Alerted],
                  now: datetime) -> int:
    """Inside the dispatcher's transaction: a delivery of each alert whose chat has a
    webhook. Returns how many were queued (a replay queues none again)."""
    chats = sorted({a.chat_id for a in alerts})
    if not chats:
        return 0
    async with conn.execute(
            "SELECT chat_id FROM webhooks WHERE chat_id IN (SELECT value FROM json_each(?))",
            (json.dumps(chats),)) as cur:
        hooked = {r[0] for r in await cur.fetchall()}
    wanted = [a for a in alerts if a.chat_id in hooked]
    if not wanted:
        return 0
    rules = await _rule_texts(conn, {rid for a in wanted for rid in a.rule_ids})
    sql = version_record_sql()
    messages = []
    for a in wanted:
        async with conn.execute(sql, (a.post_id, a.version)) as cur:
            row = await cur.fetchone()
        if row is None:
            continue
        messages.append(outbox.OutMessage(a.chat_id, KIND, body(a, export_record(row), rules,
                                                                now),
                                          dedup_key=dedup_key(a)))
    before = conn.total_changes
    await outbox.enqueue_many(conn, messages, now)
    return conn.total_changes - before


async def _rule_texts(conn: aiosqlite.Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    async with conn.execute("SELECT id, text FROM rules WHERE id IN "
                            "(SELECT value FROM json_each(?))", (json.dumps(wanted),)) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


@dataclass(frozen=True)
class Delivery:
    id: int
    chat_id: int
    url: str | None             # None: the chat's webhook was removed since
    secret: str | None
    body: str
    attempts: int
    created_at: datetime


# The first undelivered delivery of each chat, through the partial index of pending
# deliveries (INDEXED BY: the outbox keeps every message ever sent; this reads only the
# pending deliveries, however long that history grows).
_HEADS = ("SELECT min(id) AS id FROM outbox INDEXED BY outbox_webhooks_pending "
          "WHERE status = 'pending' AND kind = 'webhook' GROUP BY chat_id")


async def due(db: Database, now: datetime, limit: int = 50) -> list[Delivery]:
    """Deliveries that may go now: the oldest undelivered one of each chat, when it is
    due. A chat's alerts arrive in order, and while its endpoint fails only one request
    at a time goes to it (the others wait behind the one in backoff; each keeps its own
    day of patience, so once the first gives up a backlog drains at one try each)."""
    rows = await db.fetchall(
        "SELECT o.id, o.chat_id, w.url, w.secret, o.html, o.attempts, o.created_at "
        f"FROM ({_HEADS}) h JOIN outbox o ON o.id = h.id "
        "LEFT JOIN webhooks w ON w.chat_id = o.chat_id "
        "WHERE o.not_before <= ? ORDER BY o.id LIMIT ?",
        (to_db(now), limit))
    return [Delivery(r[0], r[1], r[2], r[3], r[4], r[5], from_db(r[6])) for r in rows]


async def next_due_time(db: Database) -> datetime | None:
    """When the next delivery falls due (the heads of the chats' queues only: the ones
    behind them wait for them, however old their own time)."""
    row = await db.fetchone(
        f"SELECT min(o.not_before) FROM ({_HEADS}) h JOIN outbox o ON o.id = h.id")
    return from_db(row[0]) if row and row[0] else None
