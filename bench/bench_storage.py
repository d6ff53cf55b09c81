"""Storing posts through the storage layer vs plain ``sqlite3`` ``executemany``; importing
a big Telegram Desktop export.

1. 200k synthetic posts (Russian news texts) stored with ``save_posts`` in batches of
   1,000 (the upsert; triggers add the full-text index and the change journal),
   against ``executemany`` of the same rows into the same tables of a database whose
   triggers were dropped (posts, posts_fts, post_changes), batch for batch, each batch
   a transaction. Target: ratio >= 0.5.
2. ``tgmon import`` of a synthetic 200k-message ``result.json`` as a subprocess: its rate
   against the same ``executemany`` baseline, and its peak memory against a
   ``json.load`` of the same file (what a naive importer would hold).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import NEWS_POSTS, Figure, timed

if TYPE_CHECKING:
    from storage.models import Post

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ("legionoffreedom", "russvolcorps", "gubernator_46", "vvgladkov", "rybar",
            "dva_majors", "wargonzo")
START = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
BATCH = 1000


def news_texts() -> list[str]:
    with NEWS_POSTS.open(encoding="utf-8") as f:
        return [t for t in (json.loads(line).get("text") or "" for line in f) if t]


def channel_id(index: int) -> int:
    return 1_500_000_000 + index


def synthetic_posts(n: int, texts: Sequence[str]) -> Iterator[Post]:
    """``n`` posts spread over the watched channels, a minute apart: news texts (made
    distinct), some photos and videos, hashtags, reactions and forwards."""
    from storage.models import Entity, ForwardOrigin, Media, Post, Reaction

    per_channel = [0] * len(CHANNELS)
    for i in range(n):
        ch = i % len(CHANNELS)
        per_channel[ch] += 1
        text = f"{texts[i % len(texts)]}\n\n#сводка {i}"
        media = None
        if i % 3 == 0:
            media = Media("photo", size=100_000 + i, width=1280, height=720)
        elif i % 7 == 0:
            media = Media("video", file_name=f"видео_{i}.mp4", size=5_000_000 + i,
                          mime_type="video/mp4", duration=30.0)
        tag_at = len(text.encode("utf-16-le")) // 2 - len(f"#сводка {i}")
        yield Post(
            channel_id=channel_id(ch), message_id=per_channel[ch],
            date=START + timedelta(minutes=i), text=text,
            entities=(Entity("hashtag", tag_at, 7),),
            reactions=(Reaction("🔥", i % 50), Reaction("👍", i % 13)) if i % 2 else (),
            media=media,
            forward=ForwardOrigin(channel_id=channel_id((ch + 1) % len(CHANNELS)),
                                  name="Пересланный канал") if i % 11 == 0 else None)


# ---- 1. storage layer vs executemany -------------------------------------------------------

async def _store_through_layer(path: Path, posts: list[Post], now: datetime) -> float:
    from storage.db import open_database
    from storage.models import CapturePath, Channel
    from storage.posts import save_posts

    db = await open_database(path)
    try:
        for i, name in enumerate(CHANNELS):
            await save_posts(db, [], CapturePath.BACKFILL, now,
                             channel=Channel(channel_id(i), name, name))
        with timed() as t:
            for start in range(0, len(posts), BATCH):
                await save_posts(db, posts[start:start + BATCH], CapturePath.BACKFILL, now)
        stored = await db.fetchone("SELECT count(*) FROM posts")
        assert stored is not None and stored[0] == len(posts)
    finally:
        await db.close()
    return t.seconds


def _plain_rows(posts: list[Post], now: datetime) -> list[tuple[list, list, list, list]]:
    """Per batch, the rows the triggers would write, built before the clock starts."""
    from storage.models import CapturePath
    from storage.normalise import search_text
    from storage.posts import post_row

    seen = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    batches = []
    for start in range(0, len(posts), BATCH):
        rows, fts, changes = [], [], []
        for rid, p in enumerate(posts[start:start + BATCH], start=start + 1):
            row = post_row(p, CapturePath.BACKFILL, now)
            rows.append((rid, *row))
            fts.append((rid, search_text(row[3])))
            changes.append((rid, "new", 1, seen, "backfill"))
        batches.append((rows, fts, changes))
    return batches


def _store_plain(path: Path, batches: list, now: datetime) -> float:
    from storage.db import open_database
    from storage.posts import _INSERT_COLUMNS

    async def create() -> None:
        await (await open_database(path)).close()

    asyncio.run(create())
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
                   "PRAGMA synchronous = NORMAL"):
        conn.execute(pragma)
    for trigger in ("posts_after_insert", "posts_after_new_version", "posts_after_tombstone"):
        conn.execute(f"DROP TRIGGER {trigger}")
    seen = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    conn.executemany(
        "INSERT INTO channels (channel_id, username, title, first_seen, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(channel_id(i), name, name, seen, seen) for i, name in enumerate(CHANNELS)])
    posts_sql = (f"INSERT INTO posts (id, {', '.join(_INSERT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * (len(_INSERT_COLUMNS) + 1))})")
    with timed() as t:
        for rows, fts, changes in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(posts_sql, rows)
            conn.executemany("INSERT INTO posts_fts (rowid, text) VALUES (?, ?)", fts)
            conn.executemany(
                "INSERT INTO post_changes (post_id, kind, version, at, captured_via) "
                "VALUES (?, ?, ?, ?, ?)", changes)
            conn.execute("COMMIT")
    conn.close()
    return t.seconds


# ---- 2. importing a big export -------------------------------------------------------------

def _write_export(path: Path, posts: list[Post]) -> None:
    """A single-channel ``result.json`` as Telegram Desktop writes it (one channel:
    every post is moved to the first channel, ids renumbered)."""
    cid = channel_id(0)
    with path.open("w", encoding="utf-8") as f:
        f.write('{\n "name": "Бенчмарк",\n "type": "public_channel",\n'
                f' "id": {cid},\n "messages": [')
        for mid, p in enumerate(posts, start=1):
            unix = int(p.date.timestamp())
            tag = p.text.rsplit("#", 1)
            msg = {
                "id": mid, "type": "message", "date": p.date.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(unix), "from": "Бенчмарк", "from_id": f"channel{cid}",
                "text": [tag[0], {"type": "hashtag", "text": "#" + tag[1]}],
                "text_entities": [{"type": "plain", "text": tag[0]},
                                  {"type": "hashtag", "text": "#" + tag[1]}],
            }
            if p.reactions:
                msg["reactions"] = [{"type": "emoji", "count": r.count, "emoji": r.emoji}
                                    for r in p.reactions]
            f.write(("," if mid > 1 else "") + "\n  "
                    + json.dumps(msg, ensure_ascii=False, indent=1).replace("\n", "\n  "))
        f.write("\n ]\n}\n")


# Runs a module (-m NAME) or a script (PATH) and, at exit, writes its own peak resident
# memory (VmHWM: this process only; ru_maxrss of a child would include the high-water
# mark of the big benchmark process it was forked from) to the file in $TGMON_BENCH_HWM.
_PEAK_WRAPPER = """
import atexit, os, runpy, sys
def _report():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM"))
    with open(os.environ["TGMON_BENCH_HWM"], "w") as out:
        out.write(kb)
atexit.register(_report)
kind, target, *rest = sys.argv[1:]
sys.argv = [target, *rest]
if kind == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    runpy.run_path(target, run_name="__main__")
"""


def run_child(kind: str, target: str, *args: str) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``python -m target`` (``kind``
    "-m") or ``python target`` (a script path), run from the repository root."""
    with tempfile.NamedTemporaryFile(prefix="tgmon-hwm-", delete=False) as f:
        hwm_path = f.name
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TGMON_BENCH_HWM": hwm_path}
    try:
        with timed() as t:
            proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, kind, target, *args],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{target} {' '.join(args)} failed: {proc.stderr.decode()}")
        kb = int(Path(hwm_path).read_text() or 0)
    finally:
        os.unlink(hwm_path)
    return t.seconds, kb / 1024


def run(quick: bool) -> list[Figure]:
    n = 20_000 if quick else 200_000
    now = START + timedelta(days=400)
    texts = news_texts()
    posts = list(synthetic_posts(n, texts))
    figures = []
    with tempfile.TemporaryDirectory(prefix="tgmon-bench-") as tmp:
        d = Path(tmp)
        batches = _plain_rows(posts, now)
        plain_s = _store_plain(d / "plain.db", batches, now)
        layer_s = asyncio.run(_store_through_layer(d / "layer.db", posts, now))
        plain_rate, layer_rate = n / plain_s, n / layer_s
        ratio = layer_rate / plain_rate
        figures.append(Figure(
            f"store {n:,} posts (save_posts: upsert, FTS, journal)", layer_rate,
            "posts/s", "ratio >= 0.5 of executemany", ratio >= 0.5, baseline=plain_rate))

        export = d / "result.json"
        _write_export(export, posts)
        size_mb = export.stat().st_size / 1e6
        import_s, import_mb = run_child("-m", "bot", "import", str(export),
                                        "--db", str(d / "import.db"),
                                        "--username", "bench_channel")
        figures.append(Figure(
            f"tgmon import of a {size_mb:.0f} MB result.json ({n:,} messages)", n / import_s,
            "messages/s", "info (whole command, parsing included)", True,
            baseline=plain_rate))
        loader = d / "load.py"
        loader.write_text("import json, sys\njson.load(open(sys.argv[1], encoding='utf-8'))\n")
        _, load_mb = run_child("script", str(loader), str(export))
        figures.append(Figure(
            "tgmon import peak memory (baseline: json.load of the file)", import_mb, "MB",
            "< 150 MB, flat in file size", import_mb < 150, baseline=load_mb))
    return figures
