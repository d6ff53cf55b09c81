"""Generated logs of realistic posts, for the growth benchmark (and tests).

A log starts N / 2,740 days before ``END`` and has 2,740 messages a day, plus the
extra items of albums: about 2,950 posts a day (a million posts in 340 days: a desk
watching ~300 channels). So the last 30 days of every log hold about as many posts,
and a search of a period returns as much whatever the size of the log. Channels
post with Zipf-like weights, message ids count up per channel with holes (ids never
seen) and service messages; texts are sentences of the real news posts recombined
(about 520 characters; a stand-in corpus without ../shared), some with numbers and
hashtags; 30 % photos, 3 % albums, 2 % edited, 1 % deleted. Everything goes through
the storage layer (``save_posts``, ``mark_deleted``, ``note_absent``) in capture
order, then the word index is built.

Run as a script (``python bench/loggen.py N --out FILE``), it imports only
``storage`` (and ``bot.rules.indexer`` when it has it), so another checkout's
interpreter writes the same log with its own schema: a "before" log to compare with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.models import Post

END = datetime(2025, 1, 1, tzinfo=UTC)
PER_DAY = 2_740
CHANNELS = 300
BATCH = 2_000
GENERATOR = "2"           # bump when the generated log changes
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_TAGS = ("#сводка", "#Курская_область", "#Белгород", "#новости", "#СВО", "#срочно", "#ПВО")


def news_path() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "data" / "ru-news-posts-2024" / "posts.jsonl"
        if candidate.is_file():
            return candidate
    return here.parents[2] / "shared" / "data" / "ru-news-posts-2024" / "posts.jsonl"


def corpus() -> list[list[str]]:
    """The sentences of each news post (a stand-in without the shared data)."""
    path = news_path()
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            texts = [t for t in (json.loads(line).get("text") for line in f) if t]
    else:
        rng = random.Random(1)
        words = ("обстрел", "Курская", "область", "Белгород", "колонна", "границы", "жители",
                 "эвакуация", "ПВО", "беспилотник", "сбит", "район", "военные", "заявили",
                 "Тёткино", "власти", "сообщили", "погибли", "ранены", "армия", "село")
        texts = [". ".join(" ".join(rng.choice(words) for _ in range(rng.randrange(6, 14)))
                           .capitalize() for _ in range(rng.randrange(2, 6))) + "."
                 for _ in range(400)]
    return [s for s in (_SENTENCE.split(t.strip()) for t in texts) if s]


class TextMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.posts = corpus()

    def text(self) -> str:
        rng, posts = self.rng, self.posts
        target = max(40, int(rng.gauss(470, 240)))
        base = rng.choice(posts)
        turn = rng.randrange(len(base))
        pieces = base[turn:] + base[:turn]
        out: list[str] = []
        size = 0
        while size < target:
            if not pieces:
                pieces = list(rng.choice(posts))
            s = pieces.pop(0)
            out.append(s)
            size += len(s) + 1
        if rng.random() < 0.25:
            out.insert(rng.randrange(len(out) + 1),
                       f"По данным на {rng.randrange(24):02d}:{rng.randrange(60):02d}, "
                       f"пострадали {rng.randrange(2, 400)} человек.")
        text = " ".join(out)
        if rng.random() < 0.12:
            text += "\n\n" + " ".join(rng.sample(_TAGS, rng.randrange(1, 3)))
        return text


def _channels() -> list:
    from storage.models import Channel

    return [Channel(1_700_000_000 + i, f"channel_{i:03d}" if i % 17 else None,
                    f"Канал {i:03d}") for i in range(CHANNELS)]


def _posts(n: int, seed: int) -> Iterator[tuple[Post, list[tuple[int, int]]]]:
    """Posts in capture order, each with the absent (service) ids noted before it."""
    from storage.models import Media, Post, Reaction

    rng = random.Random(seed)
    maker = TextMaker(rng)
    channels = _channels()
    weights = [1 / (i + 1) ** 0.8 for i in range(CHANNELS)]
    start = END - timedelta(days=n / PER_DAY)
    step = 86_400 / PER_DAY
    next_id = [1] * CHANNELS
    made = 0
    t = 0.0
    while made < n:
        t += rng.expovariate(1 / step)
        c = rng.choices(range(CHANNELS), weights)[0]
        date = start + timedelta(seconds=int(t))
        service: list[tuple[int, int]] = []
        r = rng.random()
        if r < 0.004:                        # ids never seen: holes
            next_id[c] += rng.randrange(1, 4)
        elif r < 0.007:                      # a service message
            service.append((channels[c].channel_id, next_id[c]))
            next_id[c] += 1
        size = rng.randrange(2, 6) if rng.random() < 0.03 else 1
        group = channels[c].channel_id * 100_000 + next_id[c] if size > 1 else None
        for k in range(min(size, n - made)):
            media = None
            if size > 1 or rng.random() < 0.3:
                media = Media("photo", size=rng.randrange(50_000, 900_000), width=1280,
                              height=720)
            text = maker.text() if k == 0 and rng.random() > 0.02 else ""
            yield (Post(channels[c].channel_id, next_id[c], date, text,
                        views=int(rng.paretovariate(1.2) * 400),
                        forwards=int(rng.paretovariate(1.5) * 3) if rng.random() < 0.5 else 0,
                        reactions=(Reaction("🔥", rng.randrange(1, 300)),)
                        if rng.random() < 0.4 else (),
                        media=media, grouped_id=group), service if k == 0 else [])
            next_id[c] += 1
            made += 1


async def write_log(path: Path, n: int, seed: int = 2025, index: bool = True,
                    progress: bool = True, text: bool = True) -> None:
    """Write the log (``text=False``: the same posts with every text empty, to measure
    what a post costs besides its text)."""
    from storage.db import open_database
    from storage.models import CapturePath
    from storage.posts import mark_deleted, note_absent, save_posts

    rng = random.Random(seed + 1)
    maker = TextMaker(random.Random(seed + 2))
    db = await open_database(path)
    started = time.perf_counter()
    try:
        for ch in _channels():
            await save_posts(db, [], CapturePath.LIVE, END - timedelta(days=4000), channel=ch)
        batch: list = []
        absent: list[tuple[int, int]] = []
        edits: list = []
        deletions: dict[int, list[int]] = {}
        done = 0

        async def flush() -> None:
            nonlocal done
            seen = max(p.date for p in batch) + timedelta(seconds=5)
            async with db.transaction() as conn:
                for cid, mid in absent:
                    await note_absent(conn, cid, [mid], "service", seen)
            via = CapturePath.BACKFILL if done < n // 10 else CapturePath.LIVE
            await save_posts(db, batch, via, seen)
            done += len(batch)
            batch.clear()
            absent.clear()
            if progress:
                print(f"\r{path.name}: {done:,} of {n:,} posts "
                      f"({done / (time.perf_counter() - started):,.0f}/s)", end="",
                      file=sys.stderr, flush=True)

        for post, service in _posts(n, seed):
            if not text:
                post = replace(post, text="")
            batch.append(post)
            absent.extend(service)
            x = rng.random()
            if x < 0.02 and post.text:
                edits.append(replace(post, text=post.text + " " + maker.text()[:160],
                                     edit_date=post.date + timedelta(minutes=rng.randrange(
                                         1, 600))))
            elif x < 0.03:
                deletions.setdefault(post.channel_id, []).append(post.message_id)
            if len(batch) >= BATCH:
                await flush()
        if batch:
            await flush()
        for k in range(0, len(edits), BATCH):
            chunk = edits[k:k + BATCH]
            await save_posts(db, chunk, CapturePath.CATCH_UP,
                             max(p.edit_date for p in chunk) + timedelta(minutes=1))
        async with db.transaction() as conn:
            for cid, ids in deletions.items():
                await mark_deleted(conn, cid, ids, END)
        if progress:
            print(f"\r{path.name}: {n:,} posts, {len(edits):,} edits stored in "
                  f"{time.perf_counter() - started:,.0f} s", file=sys.stderr, flush=True)
        if index:
            try:
                from bot.rules.indexer import index_pending
            except ImportError:
                return
            t = time.perf_counter()
            filed = await index_pending(db, batch=2000)
            if progress:
                print(f"{path.name}: {filed:,} posts indexed in {time.perf_counter() - t:,.0f} s",
                      file=sys.stderr, flush=True)
    finally:
        await db.close()


def ensure_log(directory: Path, n: int, *, python: str | None = None, label: str = "",
               cwd: Path | None = None, extra: list[str] | None = None) -> Path:
    """The log of ``n`` posts in ``directory``, generated the first time (by another
    checkout's ``python`` when given: a log of that checkout's schema)."""
    import subprocess

    path = directory / f"log{label}-{n}-g{GENERATOR}.db"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    for leftover in directory.glob(tmp.name + "*"):
        leftover.unlink()
    subprocess.run([python or sys.executable, str(Path(__file__).resolve()), str(n),
                    "--out", str(tmp), *(extra or [])], check=True, cwd=cwd)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posts", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-index", action="store_true")
    parser.add_argument("--no-text", action="store_true", help="every text empty")
    args = parser.parse_args(argv)
    asyncio.run(write_log(args.out, args.posts, index=not args.no_index,
                          text=not args.no_text))
    import sqlite3
    conn = sqlite3.connect(args.out)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
