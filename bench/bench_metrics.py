"""Engagement samples: how much they grow the database over 48 h of a busy channel.

A busy channel posts every 5 minutes for 48 hours (576 posts, Russian news texts); the
re-check reads every post of its 48 h window every 30 minutes (batches of 100, as
``channels.getMessages`` answers) until the last post is 48 h old, and every read finds
more views (and, now and then, more forwards and reactions). The same reads are stored
twice through :func:`storage.capture.save_batch`: once as tgmon does now (with
samples), once with sampling switched off (the log as it was before samples). Both
databases are vacuumed and their sizes compared. Target: samples add at most 30 %.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_storage import START, news_texts
from bench.common import Figure, timed

CHANNEL = 1_500_000_000
POST_EVERY = timedelta(minutes=5)
READ_EVERY = timedelta(minutes=30)
WINDOW = timedelta(hours=48)


def _posts_at(read_at: Any, hours: float, texts: list[str]) -> list[Any]:
    """The posts of the window as a read at ``read_at`` finds them."""
    from storage.models import Post, Reaction

    out = []
    n_total = int(timedelta(hours=hours) / POST_EVERY)
    for i in range(n_total):
        date = START + POST_EVERY * i
        if date > read_at or read_at - date > WINDOW + READ_EVERY:   # + the read past 48 h
            continue
        age = (read_at - date).total_seconds() / 60
        views = int(40 * age ** 0.8) + i
        out.append(Post(CHANNEL, i + 1, date, f"{texts[i % len(texts)]}\n\n#сводка {i}",
                        views=views, forwards=int(age // 120), replies=int(age // 300),
                        reactions=(Reaction("🔥", int(age // 60)), Reaction("👍", int(age // 200)))
                        if age >= 60 else ()))
    return out


async def _run(path: Path, sample: bool, hours: float, texts: list[str]) -> tuple[int, int, int]:
    import storage.capture as capture
    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.models import CapturePath, Channel

    real = capture.record_samples

    async def nothing(*_a: Any, **_k: Any) -> int:
        return 0

    capture.record_samples = real if sample else nothing   # type: ignore[assignment]
    db = await open_database(path)
    reads = 0
    try:
        read_at = START
        end = START + timedelta(hours=hours) + WINDOW
        while read_at <= end:
            posts = _posts_at(read_at, hours, texts)
            for start in range(0, len(posts), 100):
                await save_batch(db, Batch(CHANNEL, Channel(CHANNEL, "busy"),
                                           posts[start:start + 100]),
                                 CapturePath.CATCH_UP, read_at)
            reads += len(posts)
            read_at += READ_EVERY
        row = await db.fetchone("SELECT count(*) FROM post_metrics")
        samples = int(row[0]) if row else 0
    finally:
        await db.close()
        capture.record_samples = real   # type: ignore[assignment]
    import sqlite3
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")
    conn.close()
    return path.stat().st_size, samples, reads


def run(quick: bool) -> list[Figure]:
    texts = news_texts()
    hours = 6.0 if quick else 48.0
    with tempfile.TemporaryDirectory() as tmp:
        with timed() as t_base:
            base, _, reads = asyncio.run(_run(Path(tmp) / "before.db", False, hours, texts))
        with timed() as t_now:
            size, samples, _ = asyncio.run(_run(Path(tmp) / "samples.db", True, hours, texts))
    growth = (size - base) / base
    posts = int(timedelta(hours=hours) / POST_EVERY)
    return [
        Figure(f"database after {hours:g} h of a busy channel ({posts} posts, {reads:,} "
               f"reads), with samples ({samples:,})", size / 1e6, "MB", "growth <= 30 %",
               growth <= 0.30, baseline=base / 1e6,
               note=f"+{growth:.1%}; {samples / posts:.1f} samples per post"),
        Figure("storing the reads, with samples", t_now.seconds, "s", "-", True,
               baseline=t_base.seconds),
    ]
