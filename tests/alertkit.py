"""Helpers for alert tests through the simulated Telegram: people, a watched channel,
posts stored as the watcher stores them, and waiting until everything was sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storekit import last_change

from bot.alerts.dispatcher import AlertDispatcher
from bot.app import App, default_components
from bot.runtime import Component, Runtime
from storage import outbox
from storage.channels import save_channel
from storage.db import Database, open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts
from storage.watchlist import find_entry, set_resolved, sync_config

ADMIN, ANNA, IVAN, OLGA = 100, 200, 300, 400
LEGION = Channel(777, "legionoffreedom", "Легион «Свобода России»")
RYBAR = Channel(888, "rybar", "Рыбарь")
MAJORS = Channel(999, "dva_majors", "Два майора")


def log_fed() -> list[Component]:
    """tgmon's components without the watcher: tests that store posts in the log
    themselves (any capture path, any channel) and set the watch list up directly."""
    return [c for c in default_components() if c.name != "watcher"]


def people(sim):
    w = sim.world
    return (w.add_user("Админ", "boss", id=ADMIN), w.add_user("Анна", "anna_osint", id=ANNA),
            w.add_user("Иван", "ivan", id=IVAN), w.add_user("Ольга", "olha", id=OLGA))


def settings(sim, **kw):
    base: dict[str, Any] = dict(admins=frozenset({ADMIN}), allowlist=frozenset({ANNA, OLGA}),
                                access="allowlist")
    base.update(kw)
    return sim.settings(**base)


async def watched(sim, s, *channels: Channel) -> None:
    """Resolved watch-list entries, as the watcher leaves them."""
    db = await open_database(s.db_path)
    try:
        now = sim.now()
        await sync_config(db, [(c.username, c.title) for c in channels], now)
        for c in channels:
            await save_channel(db, c, now)
            entry = await find_entry(db, c.username)
            assert entry is not None
            await set_resolved(db, entry.id, c.channel_id, 555, now)
    finally:
        await db.close()



def alerts(sim, chat_id):
    """The alerts a chat got (latest version of each message), in order."""
    latest: dict[int, Any] = {}
    for m in sim.world.sent_by_bot(chat_id):
        latest[m.id] = m
    return [m for m in latest.values() if m.text.startswith(("📢", "✏️", "🗑"))]




async def press(sim, who, data, *, group=None, chat_id=None):
    chat = chat_id if chat_id is not None else who.id
    before = len(sim.world.sent_by_bot(chat))
    sim.world.press(who, data, group=group)
    await sim.until(lambda: len(sim.world.sent_by_bot(chat)) > before)
    return sim.world.sent_by_bot(chat)[before]


def dispatcher(app: App) -> AlertDispatcher:
    return next(c for c in app.components if isinstance(c, AlertDispatcher))


async def publish(rt: Runtime, channel: Channel, message_id: int, text: str = "", *,
                  via: CapturePath = CapturePath.LIVE, date: datetime | None = None,
                  **fields: Any) -> Post:
    """Store a post as the watcher does, and tell the dispatcher."""
    now = rt.now()
    post = Post(channel.channel_id, message_id, date or now, text, **fields)
    await save_posts(rt.db, [post], via, now, channel)
    rt.log_changed.notify()
    return post


async def settled(db: Database, app: App) -> bool:
    d = dispatcher(app)
    return d.cursor >= await last_change(db) and await outbox.pending_count(db) == 0


async def quiet(sim, app: App, timeout: float = 120.0) -> None:
    """Wait (virtual time) until every change was dispatched and every message sent."""
    assert app.rt is not None
    db = app.rt.db
    await sim.until(lambda: settled(db, app), timeout=timeout, step=0.5)
