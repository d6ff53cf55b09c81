"""Scheduled digests and ``/export``: what the bot does on a schedule and on request.

The database holds the 7 watched channels, one day of posts (news texts) and many
chats with schedules in five time zones, each already sent its latest digest. The
scheduler runs on the real database with a stand-in runtime (no Telegram: digests stop
at the outbox, which is what is measured).

- sync pass: the check the scheduler makes every 5 minutes over every chat (jobs up to
  date, nothing missed). Baseline: streaming the same rows and doing nothing else.
- morning fan-out: chats on the defaults all due at once; every digest in the outbox.
  Baseline: building one digest with its chart.
- chats with a rule each, due together: every digest differs; they share one search of
  the word index for the day's posts their rules may match (each analysed once, every
  rule matched through one RuleSet) with cold word caches, as after a start. Baseline:
  one digest without rules.
- ``/export`` of the day as CSV, gzipped (the file the bot sends). Baseline: the same
  rows written by ``tgmon export``'s writer without compression.

``--quick`` shrinks everything tenfold.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_storage import CHANNELS, channel_id, news_texts, synthetic_posts
from bench.common import Figure, timed

DUE = datetime(2024, 3, 13, 5, 0, tzinfo=UTC)          # 08:00 in Moscow
ZONES = ("UTC", "Europe/Moscow", "Europe/Kyiv", "Europe/Berlin", "Asia/Vladivostok")


async def build(path: Path, posts: int, chats: int) -> None:
    from storage.channels import save_channel
    from storage.db import open_database
    from storage.models import CapturePath, Channel
    from storage.posts import save_posts
    from storage.timefmt import to_db
    from storage.watchlist import find_entry, set_resolved, sync_config

    db = await open_database(path)
    try:
        start = DUE - timedelta(days=1)
        await sync_config(db, [(c, c) for c in CHANNELS], start)
        for i, name in enumerate(CHANNELS):
            await save_channel(db, Channel(channel_id(i), name, name), start)
            entry = await find_entry(db, name)
            assert entry is not None
            await set_resolved(db, entry.id, channel_id(i), 1, start)
        step = timedelta(days=1) / posts
        day = [replace(p, date=start + i * step)
               for i, p in enumerate(synthetic_posts(posts, news_texts()))]
        for k in range(0, len(day), 1000):
            await save_posts(db, day[k:k + 1000], CapturePath.LIVE, DUE)
        # the running app files the posts in the word index as they come (before the
        # measurement the word caches are emptied again: cold, as after a start)
        from bot.rules import keys, morph, romanize
        from bot.rules.indexer import index_pending
        await index_pending(db)
        keys._text_caches.clear()
        for cached in (keys.rule_word_keys, morph.lemmas, morph.english_stem,
                       romanize.cyrillic_skeleton):
            cached.cache_clear()
        seen = to_db(start - timedelta(days=30))
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO chats (chat_id, kind, timezone, first_seen, last_seen) "
                "VALUES (?, 'private', ?, ?, ?)",
                [(10_000 + c, ZONES[c % len(ZONES)], seen, seen) for c in range(chats)])
    finally:
        await db.close()


async def _mark_all_sent(db: Any, scheduler: Any, now: datetime) -> None:
    """Every chat has had its latest digest (the steady state)."""
    from bot.digest.scheduling.plan import latest_due
    from storage.digest_schedules import stream_chat_schedules
    from storage.timefmt import to_db

    rows = []
    async for chat in stream_chat_schedules(db):
        due = latest_due(scheduler.plan_of(chat), now, now - timedelta(days=8))
        assert due is not None
        rows.append((chat.chat_id, to_db(due), to_db(due)))
    async with db.transaction() as conn:
        await conn.executemany("INSERT OR REPLACE INTO digest_schedules (chat_id, last_due, "
                               "period_end) VALUES (?, ?, ?)", rows)


def _runtime(settings: Any, db: Any, clock: list[datetime]) -> Any:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime import Runtime, Signal

    return Runtime(settings, db, lambda: clock[0], user=None, bot=object(),  # type: ignore[arg-type]
                   scheduler=AsyncIOScheduler(timezone=UTC), log_changed=Signal())


async def measure(path: Path, fan_out: int, ruled: int) -> dict[str, float]:
    from bot.digest.scheduling.component import DigestScheduler
    from bot.digest.scheduling.compose import DigestRequest, compose_many
    from config.settings import Settings
    from storage.db import open_database
    from storage.digest_queries import Period
    from storage.digest_schedules import stream_chat_schedules
    from storage.export import ExportFilter, export_rows, make_writer
    from storage.export_file import build_export_file
    from storage.subscriptions import add_rule

    out: dict[str, float] = {}
    settings = Settings(db_path=path, digest_time=DUE.time(), timezone="UTC", access="open")
    db = await open_database(path)
    clock = [DUE + timedelta(hours=3, minutes=1)]
    try:
        scheduler = DigestScheduler()
        scheduler.rt = _runtime(settings, db, clock)
        await _mark_all_sent(db, scheduler, clock[0])
        with timed() as t:
            await scheduler.sync()                       # builds every job
        out["first_sync"] = t.seconds
        passes = []
        for _ in range(3):
            with timed() as t:
                await scheduler.sync()
            passes.append(t.seconds)
        out["sync"] = min(passes)
        out["jobs"] = len(scheduler.rt.scheduler.get_jobs())
        with timed() as t:
            async for _chat in stream_chat_schedules(db):
                pass
        out["stream"] = t.seconds

        period = Period(DUE - timedelta(days=1), DUE)
        with timed() as t:
            await compose_many(db, [DigestRequest(10_000, "UTC", period)])
        out["one"] = t.seconds

        # morning fan-out: chats on the defaults (UTC), their last digest a day ago
        await db.execute("DELETE FROM digest_schedules")
        await db.execute("UPDATE chats SET timezone = 'UTC' WHERE chat_id < ?",
                         (10_000 + fan_out,))
        await db.execute("UPDATE chats SET timezone = 'Asia/Tokyo' WHERE chat_id >= ?",
                         (10_000 + fan_out,))                 # due at 23:00 UTC: not now
        prev = "2024-03-12T05:00:00Z"
        await db.execute("INSERT INTO digest_schedules (chat_id, last_due, period_end) "
                         "SELECT chat_id, ?, ? FROM chats", (prev, prev))
        clock[0] = DUE + timedelta(seconds=30)
        fresh = DigestScheduler()
        fresh.rt = _runtime(settings, db, clock)
        with timed() as t:
            await fresh.sync()
        out["fan_out"] = t.seconds
        out["fan_out_sent"] = (await db.fetchone(
            "SELECT count(DISTINCT chat_id) FROM outbox WHERE kind = 'digest'"))[0]

        # chats with a rule each: no two digests alike
        await db.execute("DELETE FROM outbox")
        await db.execute("UPDATE digest_schedules SET last_due = ?, period_end = ?", (prev, prev))
        await db.execute("UPDATE chats SET timezone = 'Asia/Tokyo'")
        await db.execute("UPDATE chats SET timezone = 'UTC' WHERE chat_id < ?",
                         (10_000 + ruled,))
        words = ["Курск", "Белгород", "обстрел", "ПВО", "Москва", "Украина", "дрон", "атака"]
        for c in range(ruled):
            await add_rule(db, 10_000 + c, f"{words[c % len(words)]} OR сводка{c}", 1, DUE)
        ruled_scheduler = DigestScheduler()
        ruled_scheduler.rt = _runtime(settings, db, clock)
        with timed() as t:
            await ruled_scheduler.sync()
        out["ruled"] = t.seconds

        # /export of the day: gzipped file vs tgmon export's writer
        flt = ExportFilter(since=DUE - timedelta(days=1), before=DUE)
        plain = io.BytesIO()
        with timed() as t:
            rows = await export_rows(db, flt, make_writer("csv", plain))
        out["plain_export"], out["rows"], out["raw_mb"] = t.seconds, rows, plain.tell() / 1e6
        with timed() as t:
            built = await build_export_file(db, flt, "csv")
        out["export"], out["packed_mb"] = t.seconds, len(built.data) / 1e6
    finally:
        await db.close()
    return out


def run(quick: bool) -> list[Figure]:
    posts, chats, fan_out, ruled = (2_000, 1_000, 20, 5) if quick else \
        (20_000, 10_000, 200, 20)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tgmon.db"
        asyncio.run(build(path, posts, chats))
        m = asyncio.run(measure(path, fan_out, ruled))
    per_ruled = m["ruled"] / ruled
    return [
        Figure(f"scheduler sync pass over {chats:,} chats (every 5 min)", m["sync"] * 1000,
               "ms", "< 500 ms", m["sync"] < 0.5, m["stream"] * 1000,
               note=f"baseline: streaming the rows alone; first pass building "
                    f"{int(m['jobs']):,} jobs {m['first_sync']:.2f} s"),
        Figure(f"morning fan-out: {fan_out} chats on the defaults, all in the outbox",
               m["fan_out"], "s", "<= 3 x one digest", m["fan_out"] <= 3 * m["one"], m["one"],
               note=f"baseline: one digest of {posts:,} posts with its chart; "
                    f"{int(m['fan_out_sent'])} chats sent"),
        Figure(f"{ruled} chats with a rule each: per digest", per_ruled, "s", "< 1 s",
               per_ruled < 1.0, m["one"], note="baseline: one digest without rules"),
        Figure(f"/export csv.gz of {int(m['rows']):,} posts", m["rows"] / m["export"],
               "rows/s", "ratio >= 0.3", m["export"] and m["plain_export"] / m["export"] >= 0.3,
               m["rows"] / m["plain_export"],
               note=f"{m['raw_mb']:.1f} MB packed to {m['packed_mb']:.1f} MB; baseline: "
                    "tgmon export's writer, uncompressed"),
    ]
