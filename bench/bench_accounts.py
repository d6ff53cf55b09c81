"""Several watching accounts at scale (issue 14): 2,000 channels over 5 accounts (join
limit 450) in the simulated Telegram, the whole watcher running.

What is measured, after every channel is looked up and joined:

* push-to-row latency (real time, from the simulated server's push to the commit of the
  watcher's transaction that stores it), p50 and p99, against one ``save_posts`` alone;
* one reconcile pass over every channel (each read by its account), real seconds,
  against the same number of bare ``messages.getHistory`` calls through the simulation;
* the process's peak memory (``ru_maxrss``) against the same process before the world
  was built;
* requests per account per hour in the steady state (virtual time), by method.

The simulated hours are virtual; a full day is 24 of the measured hours (the watcher's
work per hour is the same all day: reconcile every 5 min, re-check every 30 min). Set-up
uses shorter join and look-up spacing than the watcher's (30 s, 10 s) so it does not
take 3 virtual hours; docs/accounts.md gives the real set-up times.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figure

START = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
ACCOUNTS = ("main", "second", "third", "fourth", "fifth")
TEXT = "Обстрел Шебекино, сообщают о повреждениях; подробности уточняются. #новости "


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _day(quick: bool, tmp: Path) -> list[Figure]:
    from bot.app import App
    from bot.sim.vclock import run_simulated
    from bot.sim.world import World
    from bot.watcher.component import Watcher
    from bot.watcher.jobs import RECONCILE
    from config.settings import Settings
    from storage.capture import Batch

    channels, hours = (200, 1) if quick else (2000, 1)
    join_limit = 45 if quick else 450
    rss_before = _rss_mb()
    world = World()
    world.keep_requests = False                   # count them only
    for name in ACCOUNTS[1:]:
        world.add_account(name)
    world.set_join_limit(500)                     # Telegram's
    world.set_resolve_budget(100_000, 86_400)     # set-up only; see docs/accounts.md
    chans = []
    for i in range(channels):
        ch = world.add_channel(f"chan_{i:04d}", f"Канал {i}", joined=False)
        for j in range(3):
            world.post(ch, f"{TEXT}{j}", date=START - timedelta(hours=3 - j), push=False)
        chans.append(ch)
    pushed: dict[tuple[int, int], float] = {}
    stored: dict[tuple[int, int], float] = {}

    class TimedWatcher(Watcher):
        async def _store_live(self, account: str, batch: Batch) -> None:
            await super()._store_live(account, batch)
            done = time.perf_counter()
            for p in batch.posts:
                stored.setdefault((p.channel_id, p.message_id), done)

    watcher = TimedWatcher(resolve_spacing=0.5, join_spacing=0.5)
    settings = Settings(db_path=tmp / "accounts.db", session_dir=tmp / "sessions",
                        watch=tuple(f"chan_{i:04d}" for i in range(channels)), api_id=1,
                        api_hash="0" * 32, join_limit=join_limit)
    out: dict[str, float] = {}
    counts: dict[str, Counter[str]] = {}

    async def main() -> None:
        app = App(settings, make_client=world.client_factory(),
                  components=lambda: [watcher], accounts=list(ACCOUNTS))
        loop = asyncio.get_running_loop()
        loop.add_busy(lambda: app.busy)           # type: ignore[attr-defined]
        await app.start()
        set_up = loop.time()
        while sum(len(ch.members) for ch in chans) < channels:
            await asyncio.sleep(30)
        out["setup_virtual_s"] = loop.time() - set_up
        await asyncio.sleep(600)                  # the catch-ups of the last joins
        # a measured hour: posts round-robin, 2,000 channels x 24 posts a day
        before = dict(world.request_counts)
        begin = loop.time()
        every = 3600 / channels               # each channel posts once an hour
        n, at = 0, begin
        while at - begin < 3600 * hours:
            ch = chans[n % channels]
            t0 = time.perf_counter()
            p = world.post(ch, f"{TEXT}{n}")
            pushed[(ch.id, p.id)] = t0
            n += 1
            at += every
            await asyncio.sleep(max(0.0, at - loop.time()))
        await asyncio.sleep(5)
        elapsed_h = (loop.time() - begin) / 3600
        for (acc_id, method), k in world.request_counts.items():
            name = next(a.name for a in world.watching.values() if a.id == acc_id) \
                if acc_id != world.bot.id else "bot"
            delta = k - before.get((acc_id, method), 0)
            if delta:
                counts.setdefault(name, Counter())[method] += round(delta / elapsed_h)
        # one reconcile pass over every channel, each by its account
        t0 = time.perf_counter()
        await asyncio.gather(*(watcher.run(cid, RECONCILE) for cid in list(watcher.live)))
        out["pass_s"] = time.perf_counter() - t0
        out["held"] = len(watcher.live)
        out["rss_mb"] = _rss_mb()
        await app.stop()

    run_simulated(main, start=START, livelock_limit=None)
    latencies = [(stored[k] - t) * 1e3 for k, t in pushed.items() if k in stored]
    missing = len(pushed) - len(latencies)
    baseline_save = asyncio.run(_one_post_saves(tmp / "baseline.db", 200))
    baseline_read = run_simulated(lambda: _bare_reads(int(out["held"])),
                                  start=START, livelock_limit=None)
    p50, p99 = _quantile(latencies, 0.5), _quantile(latencies, 0.99)
    per_hour = {a: sum(c.values()) for a, c in counts.items() if a != "bot"}
    busiest = max(per_hour.values())
    history = max(c.get("messages.getHistory", 0) for a, c in counts.items() if a != "bot")
    figures = [
        Figure(f"{channels} channels over {len(ACCOUNTS)} accounts: pushed post to its row, "
               "p50", p50, "ms", "-", True, baseline=baseline_save,
               note=f"{len(latencies)} pushes in a virtual hour, {missing} not stored"),
        Figure("... pushed post to its row, p99", p99, "ms", "< 100 ms in-process",
               p99 < 100 and missing == 0, baseline=baseline_save,
               note="baseline: save_posts of one post alone (p50)"),
        Figure("... one reconcile pass over every channel", out["pass_s"], "s",
               "< the 5 min interval", out["pass_s"] < 300, baseline=baseline_read,
               note=f"{int(out['held'])} channels; baseline: as many bare getHistory calls"),
        Figure("... peak memory of the process", out["rss_mb"], "MB", "< 1 GB",
               out["rss_mb"] < 1024, baseline=rss_before,
               note="baseline: the same process before the world was built"),
        Figure("... requests of the busiest account per hour", busiest, "req/h", "-", True,
               note="; ".join(f"{a}: {n}" for a, n in per_hour.items())),
        Figure("... messages.getHistory of the busiest account per hour", history, "req/h",
               "-", True, note="reconcile every 5 min, re-check every 30 min"),
        Figure("... set-up (look-ups and joins, 0.5 s spacing), virtual",
               out["setup_virtual_s"] / 60, "min", "-", True),
    ]
    for account, c in sorted(counts.items()):
        top = ", ".join(f"{m} {k}" for m, k in c.most_common(4))
        print(f"   {account}: {top}")
    return figures


async def _one_post_saves(path: Path, n: int) -> float:
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Post
    from storage.posts import save_posts

    db = await open_database(path)
    channel = Channel(1, "chan", "Канал")
    times = []
    try:
        for i in range(1, n + 1):
            before = time.perf_counter()
            await save_posts(db, [Post(1, i, START, f"{TEXT}{i}")], CapturePath.LIVE, START,
                             channel=channel)
            times.append((time.perf_counter() - before) * 1e3)
    finally:
        await db.close()
    return statistics.median(times)


async def _bare_reads(n: int) -> float:
    """``n`` bare ``messages.getHistory`` calls through the simulation (real seconds)."""
    from telethon.tl import functions

    from bot.sim.world import World

    w = World()
    ch = w.add_channel("bare", "bare")
    for j in range(3):
        w.post(ch, f"{TEXT}{j}", date=START - timedelta(hours=3 - j), push=False)
    client = w.make_client("user")
    await client.connect()
    peer = await client.get_input_entity("bare")
    request = functions.messages.GetHistoryRequest(peer, 0, None, 0, 100, 0, 0, 0)
    t0 = time.perf_counter()
    for _ in range(n):
        await client(request)
    seconds = time.perf_counter() - t0
    await client.disconnect()
    return seconds


def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        return _day(quick, Path(tmp))
