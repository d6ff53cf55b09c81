"""Growth: the log's figures at 10k, 100k, 1M and 5M generated posts (bench/loggen.py).

Each log has about 2,950 posts a day, so its last 30 days hold about as many posts
whatever N is: a figure that grows with the whole log, not with what it returns,
shows up as growth. Per size (periods end with the log's last day):

- bytes per post (the file after a checkpoint) against 1.5 x the text's UTF-8 bytes
  plus the fixed overhead: the bytes per post of the same 100k log with every text
  empty (rows, indexes, journal, kept stats: what does not depend on the text);
- ``tgmon stats``; ``tgmon export --format csv`` of every post next to ``sqlite3
  -csv`` of the same query (columns and order); ``tgmon export --search``;
  ``tgmon rules test`` over the last 30 days for a few kinds of rule (the slowest);
- the digest of the last day and of the last 30 days with its chart (gather, build,
  render, draw; in a fresh process);
- storing one new post (its own transaction; median of 30).

Commands run as the user runs them (a fresh process each, best of 3). Logs are
generated once into ``$TGMON_BENCH_DATA`` (default /work/bench-data) and reused.
``$TGMON_GROWTH_SIZES`` picks sizes (default 10k,100k,1M,5M; ``--quick``: 10k).
``$TGMON_BEFORE_PYTHON``, the interpreter of another checkout (the main branch before
this work), adds its figures on its own logs at ``$TGMON_BEFORE_SIZES`` (default
100k,1M): the same generated posts in that checkout's schema.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import loggen
from bench.common import Figure

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TGMON_BENCH_DATA", "/work/bench-data"))
SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
RULES = ("Курск", "Белгород OR Курская OR Харьков", "ВСУ обстрел", '"в результате"',
         "погиб*", "#сводка", "Kursk", r"/\d+ человек/", "Россия -Украина")
SEARCH = "Курск"
SQLITE3 = shutil.which("sqlite3") or "sqlite3"
RUNS = 3


def _sizes(var: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(var)
    return tuple(int(x) for x in raw.split(",")) if raw else default


def _env() -> dict[str, str]:
    """The environment commands run in: as an installed tgmon runs, its modules' bytecode
    cached (a machine that sets PYTHONDONTWRITEBYTECODE would compile every module on
    every start, ~80 ms a command)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best_of(cmd: list[str], runs: int = RUNS, cwd: Path = ROOT) -> float:
    """Wall seconds of the fastest of ``runs`` runs of a command (output discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def output(cmd: list[str], cwd: Path = ROOT) -> str:
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True,
                          check=True).stdout


def file_bytes(db: Path) -> int:
    import sqlite3
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.stat().st_size


def text_bytes(db: Path) -> tuple[int, float]:
    import sqlite3
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n, size = conn.execute("SELECT count(*), sum(length(CAST(text AS BLOB))) FROM posts "
                           "WHERE channel_id != ?", (BENCH_CHANNEL,)).fetchone()
    conn.close()
    return n, size / n


# ---- phases run in a fresh process: python -m bench.bench_growth PHASE DB ---------------

BENCH_CHANNEL = 1_799_999_999


def last_day(db: Path) -> str:
    """The day of the log's newest post (``--until``, inclusive), as YYYY-MM-DD."""
    import sqlite3
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    day = conn.execute("SELECT max(date) FROM posts WHERE channel_id != ?",
                       (BENCH_CHANNEL,)).fetchone()[0][:10]
    conn.close()
    return str(day)


async def _digest(db_path: Path, days: int) -> dict[str, float]:
    from zoneinfo import ZoneInfo

    from bot.digest.build import build_digest
    from bot.digest.chart import render_chart
    from bot.digest.render_telegram import render_telegram
    from storage.db import open_database
    from storage.digest_queries import Period, gather_material

    end = datetime.fromisoformat(last_day(db_path)).replace(tzinfo=UTC) + timedelta(days=1)
    tz = ZoneInfo("Europe/Moscow")
    times, posts = [], 0
    for _ in range(RUNS):      # in one process, as a running tgmon draws them
        start = time.perf_counter()
        db = await open_database(db_path, must_exist=True)
        try:
            material = await gather_material(db, Period(end - timedelta(days=days), end))
        finally:
            await db.close()
        digest = build_digest(material)
        render_telegram(digest, tz)
        render_chart(digest, tz)
        times.append(time.perf_counter() - start)
        posts = digest.total_posts
    return {"seconds": statistics.median(times), "posts": posts}


async def _store_one(db_path: Path) -> dict[str, float]:
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Post
    from storage.posts import save_posts

    texts = [t for post in loggen.corpus()[:50] for t in post][:30]
    db = await open_database(db_path, must_exist=True)
    first = time.time_ns() // 1000 % 10**12
    when = datetime(2023, 6, 1, tzinfo=UTC)
    channel = Channel(BENCH_CHANNEL, "bench_store", "Бенчмарк")
    times = []
    try:
        await save_posts(db, [], CapturePath.LIVE, when, channel=channel)
        for i, text in enumerate(texts):
            post = Post(BENCH_CHANNEL, first + i, when, text * 3)
            start = time.perf_counter()
            await save_posts(db, [post], CapturePath.LIVE, when)
            times.append(time.perf_counter() - start)
    finally:
        await db.close()
    return {"ms": statistics.median(times) * 1e3}


def _phase(name: str, db: Path, *args: int) -> dict[str, float]:
    """``name(db, *args)`` of this module in a fresh process."""
    code = ("import asyncio, json, sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from pathlib import Path\n"
            "from bench import bench_growth as g\n"
            f"print(json.dumps(asyncio.run(g.{name}(Path(sys.argv[1]), "
            "*map(int, sys.argv[2:])))))")
    done = subprocess.run([sys.executable, "-c", code, str(db), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- figures ------------------------------------------------------------------------------

def _tgmon(python: str) -> list[str]:
    return [python, "-m", "bot"]


def measure(db: Path, python: str = sys.executable, cwd: Path = ROOT,
            before: bool = False) -> dict[str, Any]:
    """Every figure of the table for one log."""
    from storage.export import ExportFilter, export_sql

    tgmon = _tgmon(python)
    out: dict[str, Any] = {}
    n, text = text_bytes(db)
    out["posts"], out["text_bytes"] = n, text
    out["bytes"] = file_bytes(db) / n
    runs = 1 if before else RUNS      # before: minutes a run at a million posts
    out["stats"] = best_of([*tgmon, "stats", "--db", str(db)], runs=runs, cwd=cwd)
    out["channels"] = len(json.loads(output([*tgmon, "stats", "--db", str(db), "--json"],
                                            cwd=cwd)))
    out["export"] = best_of([*tgmon, "export", "--format", "csv", "--db", str(db)], runs=1,
                            cwd=cwd)
    sql, _ = export_sql(ExportFilter())
    if not before:
        out["sqlite3"] = best_of([SQLITE3, "-csv", "-header", str(db), sql], runs=1)
    out["search"] = best_of([*tgmon, "export", "--format", "csv", "--search", SEARCH,
                             "--db", str(db)], runs=runs, cwd=cwd)
    out["search_rows"] = len(output([*tgmon, "export", "--format", "csv", "--no-bom",
                                     "--search", SEARCH, "--db", str(db)],
                                    cwd=cwd).splitlines()) - 1
    until = last_day(db)
    out["rules_each"] = {}
    # The first run finishes the word index (pending posts), as a user's would.
    subprocess.run([*tgmon, "rules", "test", "x", "--db", str(db), "--until", until], env=_env(),
                   cwd=cwd, check=True, capture_output=True)
    slowest, matched = 0.0, 0
    # before: a word, a phrase and a regex (each a full scan of the period)
    for rule in (RULES[0], RULES[3], RULES[7]) if before else RULES:
        seconds = best_of([*tgmon, "rules", "test", "--db", str(db), "--until", until, "--",
                           rule], runs=runs, cwd=cwd)
        out["rules_each"][rule] = seconds
        if seconds > slowest:
            slowest = seconds
            text_out = output([*tgmon, "rules", "test", "--db", str(db), "--until", until,
                               "--", rule], cwd=cwd)
            line = next(x for x in text_out.splitlines() if x.startswith("matched:"))
            matched = int(line.split()[1])
            out["rules_scanned"] = int(line.split()[3])
            out["rules_slowest"] = RULES.index(rule)
    out["rules"], out["rules_matched"] = slowest, matched
    if not before:
        for days in (1, 30):
            digest = _phase("_digest", db, days)
            out[f"digest{days}"] = digest["seconds"]
            out[f"digest{days}_posts"] = digest["posts"]
        out["store_ms"] = _phase("_store_one", db)["ms"]
    return out


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


def rules_table(rows: dict[int, dict[str, Any]]) -> str:
    """Each rule's time at each size."""
    sizes = list(rows)
    lines = ["| rule | " + " | ".join(f"{n:,} posts" for n in sizes) + " |",
             "| --- | " + " | ".join("---:" for _ in sizes) + " |"]
    for rule in RULES:
        cells = [f"{_fmt(rows[n]['rules_each'][rule])} s" for n in sizes]
        lines.append(f"| `{rule}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(rows: dict[int, dict[str, Any]], overhead: float) -> str:
    head = ("| posts | bytes/post (text) | ≤ 1.5 × text + C | stats | export csv (sqlite3 -csv) "
            "| export --search (rows) | rules test, 30 days (matched of) | digest, day (posts) "
            "| digest, 30 days (posts) | store one post |")
    lines = [head, "| " + " | ".join(["---:"] * 10) + " |"]
    for n, r in rows.items():
        limit = 1.5 * r["text_bytes"] + overhead
        lines.append(
            f"| {n:,} | {r['bytes']:,.0f} ({r['text_bytes']:,.0f}) | {limit:,.0f} "
            f"{'✔' if r['bytes'] <= limit else '✘'} | {_fmt(r['stats'])} s "
            f"| {_fmt(r['export'])} s ({_fmt(r['sqlite3'])} s) "
            f"| {_fmt(r['search'])} s ({int(r['search_rows']):,}) "
            f"| {_fmt(r['rules'])} s ({int(r['rules_matched']):,} of "
            f"{int(r['rules_scanned']):,}) "
            f"| {_fmt(r['digest1'])} s ({int(r['digest1_posts']):,}) "
            f"| {_fmt(r['digest30'])} s ({int(r['digest30_posts']):,}) "
            f"| {r['store_ms']:.1f} ms |")
    return "\n".join(lines)


def run(quick: bool) -> list[Figure]:
    sizes = (10_000,) if quick else _sizes("TGMON_GROWTH_SIZES", SIZES)
    base = 10_000 if quick else 100_000
    empty = loggen.ensure_log(DATA, base, label="-notext", extra=["--no-text"])
    n, _ = text_bytes(empty)
    overhead = file_bytes(empty) / n
    rows = {}
    for size in sizes:
        print(f"growth: {size:,} posts", file=sys.stderr, flush=True)
        rows[size] = measure(loggen.ensure_log(DATA, size))
    figures = []
    for size, r in rows.items():
        limit = 1.5 * r["text_bytes"] + overhead
        judged = size >= 1_000_000
        figures += [
            Figure(f"growth {size:,}: bytes per post (text {r['text_bytes']:,.0f} B; fixed "
                   f"overhead C = {overhead:,.0f} B, a log without text)", r["bytes"], "B",
                   "<= 1.5 x text + C at 1M" if judged else "reported (the vocabulary "
                   "weighs on a small log)", r["bytes"] <= limit or not judged, baseline=limit),
            Figure(f"growth {size:,}: tgmon stats ({int(r['channels'])} channels)", r["stats"],
                   "s", "< 1 s at 1M" if judged else "reported",
                   r["stats"] < 1 or not judged),
            Figure(f"growth {size:,}: tgmon rules test, 30 days, slowest of {len(RULES)} rules "
                   f"({RULES[int(r['rules_slowest'])]!r}: {int(r['rules_matched']):,} of "
                   f"{int(r['rules_scanned']):,})", r["rules"], "s",
                   "< 1 s at 1M" if judged else "reported", r["rules"] < 1 or not judged),
            Figure(f"growth {size:,}: tgmon export csv, all posts", r["export"], "s",
                   "reported (baseline: sqlite3 -csv, same query)", True,
                   baseline=r["sqlite3"]),
            Figure(f"growth {size:,}: digest of the last day with chart "
                   f"({int(r['digest1_posts']):,} posts)", r["digest1"], "s", "reported", True),
            Figure(f"growth {size:,}: store one new post", r["store_ms"], "ms", "reported",
                   True),
        ]
    before_python = os.environ.get("TGMON_BEFORE_PYTHON")
    compared: list[tuple[int, str, str, float, float]] = []
    if before_python and not quick:
        cwd = Path(before_python).resolve().parents[2]
        for size in _sizes("TGMON_BEFORE_SIZES", (100_000, 1_000_000)):
            print(f"growth: {size:,} posts, before", file=sys.stderr, flush=True)
            log = loggen.ensure_log(DATA, size, python=before_python, label="-before", cwd=cwd)
            b = measure(log, before_python, cwd, before=True)
            a = rows.get(size)
            if a is None:
                continue
            pairs = [("bytes per post", "B", b["bytes"], a["bytes"]),
                     ("tgmon stats", "s", b["stats"], a["stats"]),
                     ("export --search", "s", b["search"], a["search"]),
                     ("export csv", "s", b["export"], a["export"])]
            pairs += [(f"rules test `{rule}`", "s", b["rules_each"][rule], a["rules_each"][rule])
                      for rule in b["rules_each"]]
            for what, unit, then, now in pairs:
                compared.append((size, what, unit, then, now))
                figures.append(Figure(f"growth {size:,}: {what}, after (baseline: before)",
                                      now, unit, "reported", True, baseline=then))
    report = f"{table(rows, overhead)}\n\n{rules_table(rows)}\n"
    if compared:
        report += ("\n| posts | figure | before | after |\n| ---: | --- | ---: | ---: |\n"
                   + "".join(f"| {n:,} | {what} | {_fmt(then)} {unit} | {_fmt(now)} {unit} |\n"
                             for n, what, unit, then, now in compared))
    print(report, file=sys.stderr)
    (DATA / "growth-table.md").write_text(report, encoding="utf-8")
    return figures
