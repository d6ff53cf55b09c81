"""``tgmon network`` over a million posts: the whole command, as a user runs it.

The database holds 1,000,000 synthetic posts (Russian news texts, 7 channels; every
11th a forward of another channel, see ``bench_storage.synthetic_posts``); every 7th
post also gets a ``t.me`` link and an @mention of another channel, filed in
``post_links`` as storing them through tgmon would. ``tgmon network --output FILE`` runs
as a subprocess; the baseline is the ``sqlite3`` shell scanning what a tool without
tgmon's filing would read (forwards grouped, texts that can hold links). Best of three
each. Target: under 10 s.
"""

from __future__ import annotations

import sqlite3
import subprocess
import tempfile
from pathlib import Path

from bench.bench_export import SQLITE3, build_database
from bench.bench_storage import run_child
from bench.common import Figure, timed

_BASELINE = (
    "SELECT channel_id, fwd_channel_id, fwd_name, count(*), min(date), max(date) FROM posts "
    "WHERE fwd_channel_id IS NOT NULL OR fwd_name IS NOT NULL "
    "GROUP BY channel_id, fwd_channel_id, fwd_name; "
    "SELECT count(*), sum(length(text)) FROM posts WHERE text LIKE '%.me/%' "
    "OR entities LIKE '%.me/%' OR entities LIKE '%\"mention\"%';")


def _file_links(conn: sqlite3.Connection) -> None:
    """What storing the posts through tgmon files in post_links (the plain inserts of the
    build skipped it): done before the clock starts."""
    from storage.links import targets_in

    rows = []
    for pid, text, entities in conn.execute(
            "SELECT id, text, entities FROM posts WHERE text LIKE '%.me/%' "
            "OR entities LIKE '%.me/%' OR entities LIKE '%\"mention\"%'"):
        rows += [(pid, kind, f"id:{t}" if isinstance(t, int) else t)
                 for kind, t in set(targets_in(text, entities))]
    conn.executemany("INSERT OR IGNORE INTO post_links (post_id, kind, target) "
                     "VALUES (?, ?, ?)", rows)
    conn.commit()


def run(quick: bool) -> list[Figure]:
    n = 50_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="tgmon-bench-") as tmp:
        d = Path(tmp)
        db = d / "log.db"
        build_database(db, n)
        conn = sqlite3.connect(db)
        # the mention as Telegram marks it: a "mention" entity over "@legionoffreedom"
        conn.execute("UPDATE posts SET text = text || ' https://t.me/rybar/' || message_id "
                     "|| ' @legionoffreedom', entities = json_insert(coalesce(entities, '[]'), "
                     "'$[#]', json_object('type', 'mention', 'offset', 0, 'length', 16)) "
                     "WHERE id % 7 = 0")
        conn.commit()
        _file_links(conn)
        conn.close()
        ours, theirs, peak = [], [], []
        for _ in range(1 if quick else 3):
            with timed() as t:
                subprocess.run([SQLITE3, str(db), _BASELINE], stdout=subprocess.DEVNULL,
                               check=True)
            theirs.append(t.seconds)
            seconds, mb = run_child("-m", "bot", "network", "--db", str(db), "--output",
                                    str(d / "net.gexf"))
            ours.append(seconds)
            peak.append(mb)
        size = (d / "net.gexf").stat().st_size
    return [
        Figure(f"tgmon network over {n:,} posts (best of {len(ours)})", min(ours), "s",
               "< 10 s", min(ours) < 10, baseline=min(theirs),
               note=f"GEXF {size / 1e3:.0f} kB; peak memory {max(peak):.0f} MB"),
    ]
