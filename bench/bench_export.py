"""Exporting 1M stored posts to CSV: ``tgmon export`` vs the ``sqlite3`` shell.

The database holds 1,000,000 synthetic posts (Russian news texts, 7 channels) and their
versions, written with plain inserts to save time (the export reads neither the
full-text index nor the change journal, so they are left empty). ``tgmon export
--format csv --output FILE`` runs as a subprocess, as a user would run it; the baseline
is ``sqlite3 -csv -header`` running the same query (``storage.export.export_sql``: the
same columns, filter and order) into a file. Runs alternate and each side keeps its best
of three, because writing two gigabyte-sized files makes single timings noisy.
Targets: rate ratio >= 0.5, tgmon's peak memory < 150 MB.
"""

from __future__ import annotations

import asyncio
import csv
import sqlite3
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.bench_storage import (
    CHANNELS,
    START,
    channel_id,
    news_texts,
    run_child,
    synthetic_posts,
)
from bench.common import Figure, timed

SQLITE3 = "/usr/bin/sqlite3"


def build_database(path: Path, n: int) -> None:
    from storage.db import open_database
    from storage.models import CapturePath
    from storage.posts import _INSERT_COLUMNS, post_row

    async def create() -> None:
        await (await open_database(path)).close()

    asyncio.run(create())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    for trigger in ("posts_after_insert", "posts_after_new_version", "posts_after_tombstone"):
        conn.execute(f"DROP TRIGGER {trigger}")
    seen = START + timedelta(days=400)
    seen_text = seen.strftime("%Y-%m-%dT%H:%M:%SZ")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO channels (channel_id, username, title, first_seen, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(channel_id(i), name, name, seen_text, seen_text) for i, name in enumerate(CHANNELS)])
    sql = (f"INSERT INTO posts ({', '.join(_INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})")
    batch = []
    for post in synthetic_posts(n, news_texts()):
        batch.append(post_row(post, CapturePath.BACKFILL, seen))
        if len(batch) >= 10_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.execute("COMMIT")
    conn.close()


def _sqlite_csv(db: Path, sql: str, out: Path) -> float:
    with out.open("wb") as f, timed() as t:
        subprocess.run([SQLITE3, "-csv", "-header", str(db), sql], stdout=f, check=True)
    return t.seconds


def _same_rows(ours: Path, theirs: Path, limit: int = 20_000) -> bool:
    """The two files hold the same values (quoting may differ; ours has a BOM)."""
    with ours.open(encoding="utf-8-sig", newline="") as a, \
            theirs.open(encoding="utf-8", newline="") as b:
        for i, (x, y) in enumerate(zip(csv.reader(a), csv.reader(b), strict=False)):
            if x != y:
                return False
            if i >= limit:
                break
    return True


def run(quick: bool) -> list[Figure]:
    from storage.export import ExportFilter, export_sql

    n = 50_000 if quick else 1_000_000
    rounds = 1 if quick else 3
    sql, params = export_sql(ExportFilter())
    assert params == ()
    with tempfile.TemporaryDirectory(prefix="tgmon-bench-") as tmp:
        d = Path(tmp)
        db = d / "log.db"
        build_database(db, n)
        ours_out, theirs_out = d / "tgmon.csv", d / "sqlite3.csv"
        ours_s, theirs_s, peak_mb = [], [], []
        for _ in range(rounds):
            theirs_out.unlink(missing_ok=True)
            theirs_s.append(_sqlite_csv(db, sql, theirs_out))
            ours_out.unlink(missing_ok=True)
            seconds, mb = run_child("-m", "bot", "export", "--format", "csv", "--db", str(db),
                                    "--output", str(ours_out))
            ours_s.append(seconds)
            peak_mb.append(mb)
        same = _same_rows(ours_out, theirs_out)
    ours_rate, theirs_rate = n / min(ours_s), n / min(theirs_s)
    note = "" if same else "OUTPUTS DIFFER"
    return [
        Figure(f"tgmon export --format csv of {n:,} posts (best of {rounds})", ours_rate,
               "rows/s", "ratio >= 0.5 of sqlite3 -csv", ours_rate / theirs_rate >= 0.5
               and same, baseline=theirs_rate, note=note),
        Figure("tgmon export peak memory", max(peak_mb), "MB", "< 150 MB", max(peak_mb) < 150),
    ]
