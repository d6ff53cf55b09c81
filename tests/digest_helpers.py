"""Shared set-up of the scheduled-digest and /export tests: a watch list, a log of
posts, people, and ways to wait on the simulated Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.app import default_components
from bot.sim.vclock import sleep_until
from storage.channels import save_channel
from storage.db import open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts
from storage.watchlist import find_entry, set_resolved, sync_config

ADMIN, ANNA, BORIS, CARL, IVAN = 100, 200, 300, 400, 500
LEGION = Channel(777, "legionoffreedom", "Легион «Свобода России»")
RYBAR = Channel(888, "rybar", "Рыбарь")


def without_watcher():
    """tgmon's components but the watcher: these tests seed the log and the watch list
    themselves, and a watcher would re-check the seeded posts against a simulated
    Telegram that never published them (and tombstone them)."""
    return [c for c in default_components() if c.name != "watcher"]


def people(sim):
    w = sim.world
    return {uid: w.add_user(name, handle, id=uid) for uid, name, handle in (
        (ADMIN, "Админ", "boss"), (ANNA, "Анна", "anna_osint"), (BORIS, "Борис", "boris"),
        (CARL, "Carl", "carl"), (IVAN, "Иван", "ivan"))}


def settings(sim, **kw):
    base = dict(admins=frozenset({ADMIN}), allowlist=frozenset({ANNA, BORIS, CARL}),
                access="allowlist")
    base.update(kw)
    return sim.settings(**base)


def hourly_posts(channel: Channel, start: datetime, hours: int, *, first_id: int = 1,
                 text: str = "Сводка за час {n}", per_hour: int = 1) -> list[Post]:
    posts = []
    n = first_id
    for h in range(hours):
        for k in range(per_hour):
            date = start + timedelta(hours=h, minutes=k * 60 // per_hour)
            posts.append(Post(channel.channel_id, n, date, text.format(n=n), views=100 + n))
            n += 1
    return posts


async def seed(s, now: datetime, channels: Sequence[Channel] = (LEGION, RYBAR),
               posts: Sequence[Post] = ()) -> None:
    """A resolved watch list of ``channels`` and ``posts`` in the log (before the app runs,
    or while it runs: its own connection, closed after)."""
    db = await open_database(s.db_path)
    try:
        await sync_config(db, [(c.username or "", c.title or "") for c in channels], now)
        for c in channels:
            await save_channel(db, c, now)
            entry = await find_entry(db, c.username or "")
            assert entry is not None
            await set_resolved(db, entry.id, c.channel_id, 555, now)
        by_channel: dict[int, list[Post]] = {}
        for p in posts:
            by_channel.setdefault(p.channel_id, []).append(p)
        for cid, batch in by_channel.items():
            await save_posts(db, batch, CapturePath.LIVE, now,
                             next(c for c in channels if c.channel_id == cid))
    finally:
        await db.close()




async def until(moment: datetime) -> None:
    """Let the app run (virtual time) until ``moment``; a moment past is no wait."""
    await sleep_until(moment)
    await asyncio.sleep(0)


def digests(sim, chat_id):
    """The messages of the bot's digests in a chat (texts and chart photos)."""
    return [m for m in sim.world.sent_by_bot(chat_id)
            if m.text.startswith("tgmon digest") or (m.file or {}).get("name") == "digest.png"]


def heads(sim, chat_id):
    """The first message of each digest in a chat."""
    return [m for m in sim.world.sent_by_bot(chat_id) if m.text.startswith("tgmon digest")]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
