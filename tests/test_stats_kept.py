"""The stats tgmon keeps as it writes are the numbers a full recount gives: after any
mix of new posts, edits, deletions and absent ids, and after migrating an old log."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from oldlog import write_old_log

from bot.cli import main
from storage.channels import list_channels
from storage.coverage import channel_coverage, recount_channel_coverage, top_run_floor
from storage.db import Database, open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, note_absent, save_posts
from storage.stats import channel_stats, recount_channel_stats


async def assert_same(db: Database) -> None:
    channels = await list_channels(db)
    assert channels
    for c in channels:
        for keep in (1, 3, 5):
            assert await channel_stats(db, c, keep) == await recount_channel_stats(db, c, keep)
            assert await channel_coverage(db, c.channel_id, keep) == \
                await recount_channel_coverage(db, c.channel_id, keep)


async def recount_floor(db: Database, channel_id: int) -> int | None:
    row = await db.fetchone(
        "WITH known (id) AS (SELECT message_id FROM posts WHERE channel_id = ?1"
        " UNION SELECT message_id FROM absent_messages WHERE channel_id = ?1),"
        " steps AS (SELECT id, lead(id) OVER (ORDER BY id DESC) AS below FROM known)"
        " SELECT id FROM steps WHERE below IS NULL OR below < id - 1 ORDER BY id DESC LIMIT 1",
        (channel_id,))
    return row[0] if row else None


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kept_stats_match_a_recount_after_random_writes(db, t0, seed):
    rng = random.Random(seed)
    channels = [Channel(100 + i, f"c{i}" if i % 2 else None, f"К{i}") for i in range(3)]
    stored: dict[tuple[int, int], Post] = {}
    for ch in channels:
        await save_posts(db, [], CapturePath.LIVE, t0, channel=ch)
    for step in range(60):
        ch = rng.choice(channels)
        at = t0 + timedelta(minutes=step)
        action = rng.random()
        if action < 0.55:       # new posts: in order, backwards, in bursts far apart
            base = rng.choice([1, 50, 400, rng.randrange(1, 2000)])
            ids = {base + rng.randrange(0, 60) for _ in range(rng.randrange(1, 25))}
            posts = [Post(ch.channel_id, mid, t0 + timedelta(seconds=mid * 7 % 9000), f"п {mid}",
                          edit_date=at if rng.random() < 0.1 else None) for mid in sorted(ids)]
            await save_posts(db, posts, rng.choice(list(CapturePath)), at, channel=ch)
            stored.update({(p.channel_id, p.message_id): p for p in posts})
        elif action < 0.7 and stored:     # edits: text (new version) or only the edit date
            picked = rng.sample(sorted(stored), min(len(stored), rng.randrange(1, 8)))
            edits = [replace(stored[k], text=stored[k].text + "!" if rng.random() < 0.5
                             else stored[k].text, edit_date=at) for k in picked]
            await save_posts(db, edits, CapturePath.CATCH_UP, at)
        elif action < 0.85:     # deletions, of stored and never-seen ids
            ids = [rng.randrange(1, 500) for _ in range(rng.randrange(1, 10))]
            async with db.transaction() as conn:
                await mark_deleted(conn, ch.channel_id, ids, at)
        else:                   # service messages and empty ids
            ids = [rng.randrange(1, 2100) for _ in range(rng.randrange(1, 10))]
            async with db.transaction() as conn:
                await note_absent(conn, ch.channel_id, ids, rng.choice(["service", "empty"]), at)
        if step % 15 == 14:
            await assert_same(db)
    await assert_same(db)
    for c in channels:
        assert await top_run_floor(db, c.channel_id) == await recount_floor(db, c.channel_id)


async def test_kept_stats_of_a_migrated_log(tmp_path, t0):
    path = tmp_path / "old.db"
    write_old_log(path, t0).close()
    db = await open_database(path)
    try:
        await assert_same(db)
        # ... and they stay right as the migrated log grows
        await save_posts(db, [Post(5000, 2000, t0, "новый"), Post(5001, 1, t0, "x")],
                         CapturePath.LIVE, t0 + timedelta(days=5))
        async with db.transaction() as conn:
            await note_absent(conn, 5002, [1999], "service", t0)
        await assert_same(db)
    finally:
        await db.close()


def test_stats_command_recount_prints_the_same(tmp_path, t0, capsys):
    path = tmp_path / "old.db"
    write_old_log(path, t0).close()
    assert main(["stats", "--db", str(path), "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert main(["stats", "--db", str(path), "--json", "--recount"]) == 0
    assert json.loads(capsys.readouterr().out) == kept
    assert kept[0]["posts"] > 100 and kept[0]["holes"] > 0
