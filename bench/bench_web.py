"""``tgmon serve``'s rule query: a rule run over a period's posts in the browser (the canned
query ``rule``: SQLite calling tgmon's matcher once per post) against ``tgmon rules
test``'s own path (:func:`bot.rules.trial.try_rule`) on the same posts, as the baseline.

The log holds synthetic posts (Russian news texts, 7 channels, a minute apart; see
bench_export). The query runs on a connection set up as Datasette's are (tgmon's SQL
functions and the read guard). After one unmeasured run of each (the word analyser's
caches warm up; that cold run's rate is reported too), each side keeps its best of
three. Targets: rate ratio >= 0.5 of tgmon rules test; the posts one query gets through
within Datasette's time limit (``bot.web.server.SETTINGS``) are reported, not judged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.bench_export import build_database
from bench.bench_storage import START
from bench.common import Figure, timed

RULE = "Курск OR Белгород OR Tyotkino"
LIMIT = 20.0        # seconds: bot.web.server.SETTINGS["sql_time_limit_ms"] / 1000


def _browser_side(db: Path, since: str, until: str) -> tuple[float, int]:
    from bot.web import functions, guard
    from bot.web.catalog import QUERIES

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        functions.register(conn)
        guard.guard(conn)
        with timed() as t:
            rows = conn.execute(QUERIES["rule"].sql,
                                {"rule": RULE, "since": since, "until": until}).fetchall()
        return t.seconds, len(rows)
    finally:
        conn.close()


def _rules_test_side(db: Path, n: int) -> tuple[float, int, int]:
    from bot.rules.trial import try_rule
    from storage.db import open_database

    async def trial() -> tuple[float, int, int]:
        conn = await open_database(db, read_only=True)
        try:
            with timed() as t:
                found = await try_rule(conn, RULE, START - timedelta(days=1),
                                       START + timedelta(minutes=n, days=1))
            return t.seconds, found.matched, found.scanned
        finally:
            await conn.close()

    return asyncio.run(trial())


def run(quick: bool) -> list[Figure]:
    n = 5_000 if quick else 50_000
    rounds = 1 if quick else 3
    since = (START - timedelta(days=1)).date().isoformat()
    until = (START + timedelta(minutes=n)).date().isoformat()
    with tempfile.TemporaryDirectory(prefix="tgmon-bench-") as tmp:
        db = Path(tmp) / "log.db"
        build_database(db, n)
        ours, theirs = [], []
        # a first, unmeasured run of each: the word analyser's caches warm up
        cold, _ = _browser_side(db, since, until)
        _rules_test_side(db, n)
        for _ in range(rounds):
            seconds, matched_here = _browser_side(db, since, until)
            ours.append(seconds)
            seconds, matched_there, scanned = _rules_test_side(db, n)
            theirs.append(seconds)
    same = matched_here == matched_there and scanned == n
    ours_rate, theirs_rate = n / min(ours), n / min(theirs)
    return [
        Figure(f"rule query in the browser over {n:,} posts ({matched_here:,} match, best "
               f"of {rounds})", ours_rate, "posts/s", "ratio >= 0.5 of tgmon rules test",
               ours_rate / theirs_rate >= 0.5 and same, baseline=theirs_rate,
               note="" if same else "MATCHES DIFFER"),
        Figure(f"the same query, cold (the first in a process, {n:,} posts)", n / cold,
               "posts/s", "reported", True),
        Figure(f"posts the rule query reads within Datasette's {LIMIT:g} s limit",
               ours_rate * LIMIT, "posts", "reported", True),
    ]
