"""Alerts: how fast a post becomes an alert, and how close a fan-out runs to Telegram's
send limit.

1. Latency, in real time, through the real App on the simulated Telegram: 1,000
   subscribers with 10,000 rules (generated as in ``bench_rules`` from the words of the
   2,000 real news posts), posts of those texts pushed by the simulated channels,
   captured by the watcher; from the push to the send call of the post's first alert
   (and of its last, which Telegram's 30 messages/s paces). Posts come one at a time,
   each after the previous one's alerts were sent.
   Baseline, same run: the same path for a post that only a subscription alerts.
2. Fan-out, on the simulation's virtual clock: one pushed post to 3,000 subscribers, the send
   rate from first to last alert against Telegram's 30 messages/s, and the FLOOD_WAIT
   answers the simulated Telegram gave (it enforces 30/s, 1/s per chat, 20/min per group).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_rules import CHANNELS, SEED, _texts, make_posts, make_rules
from bench.common import Figure

START = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
FREE = dict(per_second=10**6, window=1.0, chat_interval=0.0, group_per_minute=10**6)


def _settings(world: Any, tmp: Path) -> Any:
    from bot.sim.sender import SIM_API_HASH, SIM_API_ID
    from config.settings import Settings

    return Settings(api_id=SIM_API_ID, api_hash=SIM_API_HASH, bot_token=world.bot_token,
                    db_path=tmp / "tgmon.db", session_dir=tmp / "sessions", access="open")


async def _introduce(world: Any, settings: Any, people: list[Any],
                     prepare: Callable[[Any], Awaitable[None]], apps: list[Any]) -> None:
    """Everyone writes /start once (so the bot knows them), with the send limits lifted
    on both sides to keep the set-up short; then ``prepare(db)`` adds rules and
    subscriptions. The app stops; the measured one starts on the same files. ``apps``
    collects the apps (the virtual clock must wait while their database works)."""
    from bot.app import App
    from bot.commands import all_commands
    from bot.commands.component import BotCommands
    from bot.delivery.limits import SendLimits
    from bot.delivery.sender import Sender
    from bot.sim.limits import BotSendLimits

    world.bot_limits = BotSendLimits(10**6, 10**6, 10**6)

    def parts() -> list[Any]:
        sender = Sender(SendLimits(**FREE))  # type: ignore[arg-type]
        return [sender, BotCommands(all_commands(), sender.messenger())]

    app = App(settings, make_client=world.client_factory(), components=parts)
    apps.append(app)
    rt = await app.start()
    for p in people:
        world.user_writes(p, "/start")
    while len({m.chat_id for m in world.sent_by_bot()}) < len(people):
        await asyncio.sleep(0.05)
    await prepare(rt.db)
    await app.stop()
    world.bot_limits = BotSendLimits()


async def _started(world: Any, settings: Any) -> tuple[Any, Any, Any]:
    from bot.alerts.dispatcher import AlertDispatcher
    from bot.app import App, default_components

    app = App(settings, make_client=world.client_factory(), components=default_components)
    rt = await app.start()
    dispatcher = next(c for c in app.components if isinstance(c, AlertDispatcher))
    await dispatcher.ready.wait()
    return app, rt, dispatcher


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


# ---- 1. latency -------------------------------------------------------------------

def _latency(quick: bool) -> list[Figure]:
    from bot.alerts.dispatcher import AlertDispatcher
    from bot.app import App
    from bot.commands import all_commands
    from bot.commands.component import BotCommands
    from bot.delivery.sender import Sender
    from bot.sim.world import World
    from bot.watcher.component import Watcher
    from storage.timefmt import to_db
    from storage.watchlist import live_entries

    n_people, n_posts = (200, 8) if quick else (1_000, 40)
    rng = random.Random(SEED)
    texts = _texts()
    rule_texts = make_rules(texts, n_people * 10, rng)
    posts = make_posts(texts, n_posts, rng)
    world = World()                                       # real time
    channels = {name: world.add_channel(name, name.title()) for name in CHANNELS}
    quiet_channel = world.add_channel("baseline_channel", "Baseline")
    people = [world.add_user(f"Subscriber {i}", f"sub{i}", id=20_000 + i)
              for i in range(n_people)]

    async def prepare(db: Any) -> None:
        now = to_db(datetime.now(UTC))
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO rules (chat_id, text, created_by, created_at) VALUES (?, ?, ?, ?)",
                [(people[i // 10].id, rule, people[i // 10].id, now)
                 for i, rule in enumerate(rule_texts)])
            await conn.execute("INSERT INTO channels (channel_id, username, title, "
                               "first_seen, updated_at) VALUES (?, ?, ?, ?, ?)",
                               (quiet_channel.id, quiet_channel.username, quiet_channel.title,
                                now, now))
            await conn.execute("INSERT INTO subscriptions VALUES (?, ?, ?, ?)",
                               (people[0].id, quiet_channel.id, people[0].id, now))

    def parts() -> list[Any]:
        # tgmon's components; the watcher looks channels up without its usual 10 s
        # spacing, so the set-up does not take minutes
        sender = Sender()
        return [Watcher(resolve_spacing=0.0), sender,
                BotCommands(all_commands(), sender.messenger()), AlertDispatcher()]

    async def one(rt: Any, dispatcher: Any, channel: Any,
                  text: str) -> tuple[float, float, int] | None:
        mark, handled = len(world.requests), dispatcher.handled
        pushed = datetime.now(UTC)
        message_id = world.post(channel, text).id
        link = f"t.me/{channel.username}/{message_id}"
        while dispatcher.handled <= handled:
            await asyncio.sleep(0.001)
        row = await rt.db.fetchone(
            "SELECT count(*) FROM alerts a JOIN posts p ON p.id = a.post_id "
            "WHERE p.channel_id = ? AND p.message_id = ? AND a.status = 'queued'",
            (channel.id, message_id))         # folded ones edit an earlier alert instead
        alerted = int(row[0]) if row else 0
        sends: list[datetime] = []
        while len(sends) < alerted:
            await asyncio.sleep(0.001)
            sends = [r.at for r in world.requests[mark:]
                     if type(r.request).__name__ == "SendMessageRequest"
                     and link in r.request.message]
        await asyncio.sleep(1.2)              # a chat's next alert would wait out 1/s anyway
        if not alerted:
            return None
        return ((min(sends) - pushed).total_seconds() * 1e3,
                (max(sends) - pushed).total_seconds() * 1e3, alerted)

    async def main() -> tuple[list[tuple[float, float, int]], list[float]]:
        await _introduce(world, settings, people, prepare, [])
        app = App(settings, make_client=world.client_factory(), components=parts)
        rt = await app.start()
        dispatcher = next(c for c in app.components if isinstance(c, AlertDispatcher))
        await dispatcher.ready.wait()
        while not all(e.resolved for e in await live_entries(rt.db)):
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)              # first reads of the (empty) channels
        results, baseline = [], []
        try:
            for text, name in posts:
                got = await one(rt, dispatcher, channels[name], text)
                if got is not None:
                    results.append(got)
                quiet = await one(rt, dispatcher, quiet_channel, "0000")
                assert quiet is not None
                baseline.append(quiet[0])
        finally:
            await app.stop()
        return results, baseline

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(world, Path(tmp)).replace(watch=(*CHANNELS, "baseline_channel"))
        results, baseline = asyncio.run(main())
    first = [r[0] for r in results]
    last = [r[1] for r in results]
    per_post = statistics.mean(r[2] for r in results)
    p99 = _p99(first)
    what = (f"{n_people:,} subscribers, {len(rule_texts):,} rules, {len(results)} of "
            f"{n_posts} posts alerted, {per_post:.1f} alerts per post")
    return [
        Figure("alerts: pushed post → first alert's send call, p99", p99, "ms", "< 200 ms",
               p99 < 200, baseline=_p99(baseline),
               note=f"{what}; p50 {statistics.median(first):.0f} ms; baseline: a post only "
                    "a subscription alerts (no rule matches), same path"),
        Figure("alerts: pushed post → last alert's send call, p99", _p99(last), "ms",
               "reported (Telegram's 30/s paces a post's alerts)", True, baseline=p99,
               note="baseline: the first alert's p99; up to 29 alerts go out at once, "
                    "more wait for the next second"),
    ]


# ---- 2. fan-out -------------------------------------------------------------------

def _fan_out(quick: bool) -> list[Figure]:
    from bot.sim.vclock import run_simulated
    from bot.sim.world import World
    from storage.timefmt import to_db
    from storage.watchlist import live_entries

    n = 600 if quick else 3_000
    world = World()
    channel = world.add_channel("legionoffreedom", "Легион")
    people = [world.add_user(f"Reader {i}", f"reader{i}", id=30_000 + i) for i in range(n)]
    apps: list[Any] = []

    async def prepare(db: Any) -> None:
        now = to_db(START)
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO channels (channel_id, username, title, first_seen, "
                               "updated_at) VALUES (?, ?, ?, ?, ?)",
                               (channel.id, channel.username, channel.title, now, now))
            await conn.executemany("INSERT INTO subscriptions VALUES (?, ?, ?, ?)",
                                   [(p.id, channel.id, p.id, now) for p in people])

    async def main() -> tuple[float, int, int]:
        await _introduce(world, settings, people, prepare, apps)
        app, rt, _ = await _started(world, settings)
        apps.append(app)
        while not all(e.resolved for e in await live_entries(rt.db)):
            await asyncio.sleep(1.0)
        await asyncio.sleep(10.0)
        mark, asked = len(world.chat_log), len(world.requests)
        answered = world.answered.get("messages.sendMessage", 0)
        world.post(channel, "Важное сообщение для всех")     # pushed, captured, fanned out
        while sum(1 for m in world.chat_log[mark:] if m.out) < n:
            await asyncio.sleep(0.5)
        times = sorted(m.at.timestamp() for m in world.chat_log[mark:] if m.out)
        tries = sum(1 for r in world.requests[asked:]
                    if type(r.request).__name__ == "SendMessageRequest")
        floods = tries - (world.answered["messages.sendMessage"] - answered)
        await app.stop()
        return (n - 1) / (times[-1] - times[0]), floods, len(times)

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(world, Path(tmp)).replace(watch=("legionoffreedom",))
        rate, floods, sent = run_simulated(main, start=START,
                                           busy=[lambda: any(a.busy for a in apps)],
                                           livelock_limit=None)
    return [
        Figure(f"alerts: fan-out of one post to {n:,} subscribers", rate, "messages/s",
               ">= 90% of 30/s, no FLOOD_WAIT", rate >= 27 and floods == 0, baseline=30.0,
               note=f"{sent:,} alerts sent, {floods} FLOOD_WAIT answers; virtual time; "
                    "baseline: Telegram's 30 messages/s"),
    ]


def run(quick: bool) -> list[Figure]:
    return [*_latency(quick), *_fan_out(quick)]
