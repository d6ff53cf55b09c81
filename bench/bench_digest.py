"""Digest of a busy day: 50 channels, 100,000 posts in 24 hours, edits and deletions.

The log also holds four quiet weeks before that day (the history "silent" is judged
against). The database is written once through ``storage.posts.save_posts``; then each
measurement runs in a fresh process, so its peak RSS is that of one digest alone:

- the digest: gather the material (SQL), build it, render it for Telegram and for the
  terminal; median of 3 runs, each on a fresh connection. Baseline: the cheapest thing
  any digest must do, one ``count(*) ... GROUP BY channel_id`` over the day;
- the same with the chart drawn (matplotlib already imported);
- memory: how far the process's peak RSS rises above its RSS once everything is
  imported (what one digest costs a running tgmon), and the peak of Python allocations
  during the first run (tracemalloc); baseline: the same process running only the
  count query.

``--quick`` writes 20,000 posts instead of 100,000.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import NEWS_POSTS, Figure, peak_rss_mb

CHANNELS = 50
DAY_POSTS = 100_000
QUICK_POSTS = 20_000
HISTORY_DAYS = 28
HISTORY_PER_DAY = 20          # per channel, before the measured day
DAY = datetime(2024, 3, 12, tzinfo=UTC)
RUNS = 3
ROOT = Path(__file__).resolve().parents[1]


def _news_posts() -> Path:
    """The shared news posts; found from a worktree too (``SHARED`` assumes the main
    checkout's depth)."""
    if NEWS_POSTS.is_file():
        return NEWS_POSTS
    tail = NEWS_POSTS.relative_to(NEWS_POSTS.parents[3])
    for parent in Path(__file__).resolve().parents:
        if (parent / tail).is_file():
            return parent / tail
    return NEWS_POSTS


def _texts() -> list[str]:
    """Real post texts (their lengths shape the rows SQLite reads), else stand-ins."""
    news = _news_posts()
    if news.is_file():
        with news.open(encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        return [t for t in texts if t] or ["Текст поста"]
    return [f"Сообщение номер {i}: обстрел, ПВО, Белгород, Курск" for i in range(200)]


async def build_database(path: Path, day_posts: int) -> dict[str, int]:
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Media, Post
    from storage.posts import mark_deleted, save_posts

    rng = random.Random(6)
    texts = _texts()
    db = await open_database(path)
    counts = {"posts": 0, "edits": 0, "deletions": 0}
    try:
        # Channel sizes follow a skewed (Zipf-like) share of the day, as real ones do.
        weights = [1 / (i + 1) ** 0.8 for i in range(CHANNELS)]
        share = [round(day_posts * w / sum(weights)) for w in weights]
        share[0] += day_posts - sum(share)
        for c in range(CHANNELS):
            channel = Channel(10_000 + c, f"channel_{c:02d}", f"Канал {c:02d} <новости> & сводки")
            posts: list[Post] = []
            mid = 1
            # Four weeks of history: HISTORY_PER_DAY posts a day in daytime hours.
            for d in range(HISTORY_DAYS, 0, -1):
                day = DAY - timedelta(days=d)
                for _ in range(HISTORY_PER_DAY):
                    when = day + timedelta(seconds=rng.randrange(7 * 3600, 23 * 3600))
                    posts.append(Post(channel.channel_id, mid, when, rng.choice(texts),
                                      views=rng.randrange(100, 50_000)))
                    mid += 1
            posts.sort(key=lambda p: p.date)
            posts = [replace(p, message_id=i + 1) for i, p in enumerate(posts)]
            mid = len(posts) + 1
            # The measured day; every tenth channel stops at noon (silent by evening).
            stop = 12 * 3600 if c % 10 == 9 else 86_400
            day_times = sorted(rng.randrange(0, stop) for _ in range(share[c]))
            j = 0
            while j < len(day_times):
                when = DAY + timedelta(seconds=day_times[j])
                album = rng.random() < 0.03
                size = rng.randrange(2, 6) if album else 1
                group = channel.channel_id * 10_000_000 + mid
                for k in range(size):
                    text = rng.choice(texts) if k == 0 else ""
                    posts.append(Post(
                        channel.channel_id, mid, when, text,
                        views=rng.randrange(50, 200_000), forwards=rng.randrange(0, 500),
                        media=Media("photo") if album else None,
                        grouped_id=group if album else None))
                    mid += 1
                j += 1
            for i in range(0, len(posts), 5000):
                await save_posts(db, posts[i:i + 5000], CapturePath.LIVE, DAY,
                                 channel=channel)
            counts["posts"] += len(posts)
            day_part = [p for p in posts if p.date >= DAY]
            edited = rng.sample(day_part, max(1, len(day_part) // 100))
            await save_posts(db, [replace(p, text=p.text + " (обновлено: уточнены данные)",
                                          edit_date=p.date + timedelta(hours=1))
                                  for p in edited], CapturePath.LIVE, DAY + timedelta(hours=13))
            counts["edits"] += len(edited)
            gone = rng.sample(day_part, max(1, len(day_part) // 200))
            async with db.transaction() as conn:
                await mark_deleted(conn, channel.channel_id, [p.message_id for p in gone],
                                   DAY + timedelta(hours=20))
            counts["deletions"] += len(gone)
    finally:
        await db.close()
    return counts


# ---- the measured phases, each run in its own process ---------------------------

async def _digest_once(path: Path, chart: bool) -> tuple[float, int]:
    from zoneinfo import ZoneInfo

    from bot.digest.build import build_digest
    from bot.digest.render_telegram import render_telegram
    from bot.digest.render_text import render_text
    from storage.db import open_database
    from storage.digest_queries import Period, gather_material

    tz = ZoneInfo("Europe/Moscow")
    start = time.perf_counter()
    db = await open_database(path, must_exist=True)
    try:
        material = await gather_material(db, Period(DAY, DAY + timedelta(days=1)))
    finally:
        await db.close()
    digest = build_digest(material)
    messages = render_telegram(digest, tz)
    render_text(digest, tz)
    if chart:
        from bot.digest.chart import render_chart
        render_chart(digest, tz)
    return time.perf_counter() - start, len(messages)


async def _baseline_once(path: Path) -> float:
    from storage.db import open_database

    start = time.perf_counter()
    db = await open_database(path, must_exist=True)
    try:
        await db.fetchall("SELECT channel_id, count(*) FROM posts WHERE date >= ? AND date < ? "
                          "GROUP BY channel_id", (DAY.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                  (DAY + timedelta(days=1))
                                                  .strftime("%Y-%m-%dT%H:%M:%SZ")))
    finally:
        await db.close()
    return time.perf_counter() - start


def _rss_mb() -> float:
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def phase(kind: str, path: Path) -> dict[str, float]:
    """One measurement in this (fresh) process; printed as JSON by ``main``.

    Everything is imported first (a running tgmon has it all loaded), so the growth of
    the peak RSS over the RSS before the first run is what the digest itself costs."""
    import tracemalloc

    import bot.digest.build
    import bot.digest.render_telegram
    import bot.digest.render_text
    import storage.digest_queries  # noqa: F401
    if kind == "chart":
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401

        import bot.digest.chart  # noqa: F401
    out: dict[str, float] = {"rss_before_mb": _rss_mb()}
    times = []
    for run in range(RUNS):
        if run == 0:
            tracemalloc.start()
        if kind == "baseline":
            seconds = asyncio.run(_baseline_once(path))
        else:
            seconds, messages = asyncio.run(_digest_once(path, chart=kind == "chart"))
            out["messages"] = messages
        if run == 0:
            out["py_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        times.append(seconds)
    out["seconds"] = statistics.median(times)
    out["rss_mb"] = peak_rss_mb()
    out["growth_mb"] = out["rss_mb"] - out["rss_before_mb"]
    return out


def _run_phase(kind: str, path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.bench_digest", kind, str(path)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def run(quick: bool) -> list[Figure]:
    posts = QUICK_POSTS if quick else DAY_POSTS
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        counts = asyncio.run(build_database(path, posts))
        base = _run_phase("baseline", path)
        digest = _run_phase("digest", path)
        chart = _run_phase("chart", path)
    day = (f"{CHANNELS} channels, {posts:,} posts in a day, {counts['edits']:,} edits, "
           f"{counts['deletions']:,} deletions, {counts['posts'] - posts:,} posts before")
    return [
        Figure(f"digest of one day ({day}): gather + build + render", digest["seconds"], "s",
               "< 1 s", digest["seconds"] < 1.0, baseline=base["seconds"],
               note=f"{int(digest['messages'])} Telegram messages; baseline: one "
                    "count(*) GROUP BY channel_id over the day"),
        Figure("the same with the chart drawn", chart["seconds"], "s", "< 1 s",
               chart["seconds"] < 1.0, baseline=digest["seconds"],
               note="baseline: the digest without chart"),
        Figure("memory of building the digest (peak RSS growth)", digest["growth_mb"], "MB",
               "< 100 MB", digest["growth_mb"] < 100, baseline=base["growth_mb"],
               note=f"process peak {digest['rss_mb']:.0f} MB with interpreter and imports; "
                    "baseline: the count query"),
        Figure("memory with the chart drawn (peak RSS growth)", chart["growth_mb"], "MB",
               "< 100 MB", chart["growth_mb"] < 100, baseline=digest["growth_mb"],
               note=f"process peak {chart['rss_mb']:.0f} MB, matplotlib imported before; "
                    "baseline: without chart"),
        Figure("peak Python allocations while building the digest (tracemalloc)",
               digest["py_peak_mb"], "MB", "< 100 MB", digest["py_peak_mb"] < 100,
               baseline=base["py_peak_mb"], note="first run; baseline: the count query"),
    ]


if __name__ == "__main__":
    print(json.dumps(phase(sys.argv[1], Path(sys.argv[2]))))
