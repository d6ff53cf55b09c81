"""Issue 13, item 2: engagement over time. Reads of a post's counters add samples when
something changed, at most one per stage of the post's age; the re-check reads posts
again when they pass 1 h, 6 h, 24 h and 48 h, also past a shorter re-check window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from capturekit import rows, until
from simkit import T0

from bot.sim.vclock import sleep_until
from bot.watcher.component import Watcher
from storage.metrics import Counters, sample_due, stage

H = 3600


def test_stages_split_a_post_s_age_at_1_6_24_48_hours():
    assert [stage(s) for s in (0, H - 1, H, 6 * H - 1, 6 * H, 24 * H, 48 * H, 8 * 24 * H)] \
        == [0, 0, 1, 1, 2, 3, 4, 5]


def test_a_sample_is_due_once_per_stage_and_only_when_something_changed():
    date = datetime(2024, 3, 12, tzinfo=UTC)
    a = Counters(100, 1, None, (("👍", 3),))
    b = Counters(900, 1, None, (("👍", 3),))
    at = date + timedelta(minutes=5)
    assert sample_due(date, at, a, None, None)                       # the first read
    assert not sample_due(date, at, Counters(None, None, None, ()), None, None)
    later = date + timedelta(minutes=40)
    assert not sample_due(date, later, b, at, a)                     # same stage
    assert not sample_due(date, date + timedelta(hours=2), a, at, a)  # nothing changed
    assert sample_due(date, date + timedelta(hours=2), b, at, a)     # changed, next stage


async def _samples(db, channel_id: int, message_id: int) -> list[tuple[int, int]]:
    """(age in minutes, views) of a post's samples, oldest first."""
    found = await db.fetchall(
        "SELECT m.at - unixepoch(p.date), m.views FROM post_metrics m "
        "JOIN posts p ON p.id = m.post_id WHERE p.channel_id = ? AND p.message_id = ? "
        "ORDER BY m.at", (channel_id, message_id))
    return [(r[0] // 60, r[1]) for r in found]


@pytest.mark.parametrize("window_hours", [48, 6])
def test_views_that_grow_for_two_days_leave_a_sample_near_each_mark(sim, window_hours):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    settings = sim.settings(recheck_window=timedelta(hours=window_hours))
    watcher = Watcher()

    async def body():
        async with sim.running(components=lambda: [watcher], settings=settings) as (_app, rt):
            await sleep_until(T0 + timedelta(minutes=1))
            post = w.post(legion, "Тёткино", views=10, forwards=0)
            await until(lambda: _has(rt.db, legion.id, post.id), timeout=120)
            # views grow every 10 minutes for 50 hours; forwards at 30 h
            for step in range(1, 6 * 50):
                await sleep_until(post.date + timedelta(minutes=10 * step))
                w.set_views(legion, post.id, views=10 + 50 * step,
                            forwards=7 if step >= 180 else 0,
                            reactions={"👍": step // 30} if step >= 30 else None)
            got = await _samples(rt.db, legion.id, post.id)
            stored = (await rows(rt.db, legion.id))[post.id]
        return got, stored

    got, stored = sim.run(body)
    ages = [age for age, _ in got]
    # one sample right after capture, then one shortly after each mark (the re-check
    # comes every 30 minutes), and none in between
    assert len(got) == 5, got
    assert ages[0] < 5
    for age, mark in zip(ages[1:], (60, 360, 1440, 2880), strict=True):
        assert mark <= age <= mark + 35, (ages, mark)
    assert [v for _, v in got] == sorted(v for _, v in got)
    assert stored["views"] >= got[-1][1]


async def _has(db, channel_id, message_id) -> bool:
    return message_id in await rows(db, channel_id)


def test_reactions_are_kept_only_when_they_changed(tmp_path):
    import asyncio

    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Post, Reaction

    date = datetime(2024, 3, 12, tzinfo=UTC)

    def post(views: int, thumbs: int) -> Post:
        return Post(1, 5, date, "x", views=views, reactions=(Reaction("👍", thumbs),))

    async def main():
        db = await open_database(tmp_path / "t.db")
        try:
            for hours, views, thumbs in ((0.1, 10, 1), (0.5, 20, 2), (2, 30, 2), (7, 40, 2),
                                         (7.5, 50, 9)):
                await save_batch(db, Batch(1, Channel(1, "c"), [post(views, thumbs)]),
                                 CapturePath.CATCH_UP, date + timedelta(hours=hours))
            return [tuple(r) for r in await db.fetchall(
                "SELECT views, reactions_total, reactions FROM post_metrics ORDER BY at")]
        finally:
            await db.close()

    assert asyncio.run(main()) == [(10, 1, '{"👍":1}'), (30, 2, '{"👍":2}'),
                                 (40, 2, None)]


def _log_with_samples(path) -> None:
    import asyncio

    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Post, Reaction

    date = datetime(2024, 3, 12, tzinfo=UTC)

    async def main():
        db = await open_database(path)
        try:
            for hours, views, fire in ((0.2, 100, 0), (1.1, 1500, 4), (6.3, 9000, 4)):
                posts = [Post(77, 5, date, "Тёткино", views=views, forwards=2, replies=1,
                              reactions=(Reaction("🔥", fire),) if fire else ()),
                         Post(77, 6, date + timedelta(minutes=3), "другое", views=5)]
                await save_batch(db, Batch(77, Channel(77, "legionoffreedom"), posts),
                                 CapturePath.CATCH_UP, date + timedelta(hours=hours))
        finally:
            await db.close()

    asyncio.run(main())


def test_export_metrics_writes_each_sample_with_its_reactions(capsysbinary, tmp_path):
    import csv
    import io
    import json

    from bot.cli import main

    db = tmp_path / "log.db"
    _log_with_samples(db)
    assert main(["export", "--metrics", "--format", "jsonl", "--db", str(db)]) == 0
    out, _ = capsysbinary.readouterr()
    got = [json.loads(line) for line in out.decode().splitlines()]
    assert list(got[0]) == ["channel", "channel_id", "message_id", "at", "views", "forwards",
                            "replies", "reactions_total", "reactions"]
    assert [(r["message_id"], r["at"], r["views"], r["reactions_total"], r["reactions"])
            for r in got] == [
        (5, "2024-03-12T00:12:00Z", 100, None, {}),
        (5, "2024-03-12T01:06:00Z", 1500, 4, {"🔥": 4}),
        (5, "2024-03-12T06:18:00Z", 9000, 4, {"🔥": 4}),    # kept once, read back
        (6, "2024-03-12T00:12:00Z", 5, None, {}),          # unchanged: one sample
    ]
    assert main(["export", "--metrics", "--channel", "legionoffreedom", "--since",
                 "2024-03-12T00:02", "--db", str(db), "--no-bom"]) == 0
    out, _ = capsysbinary.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.decode(), newline="")))
    assert [(r["message_id"], r["views"], r["reactions"]) for r in rows] == [("6", "5", "")]


def test_the_digest_s_top_posts_show_how_their_views_grew(tmp_path):
    import asyncio

    from bot.digest.build import build_digest
    from bot.digest.render_text import render_text
    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.digest_queries import Period, gather_material
    from storage.models import CapturePath, Channel, Post

    day = datetime(2024, 3, 12, tzinfo=UTC)
    old = Post(77, 5, day + timedelta(hours=2), "вчерашний пост")
    new = Post(77, 9, day + timedelta(hours=30), "свежий пост")

    async def main():
        db = await open_database(tmp_path / "log.db")
        try:
            reads = [(2.1, old, 300), (3.2, old, 4_300), (26.5, old, 8_000), (30.1, new, 50),
                     (31.3, new, 1_200), (40, old, 16_100), (40, new, 2_000)]
            for hours, post, views in reads:
                await save_batch(db, Batch(77, Channel(77, "legionoffreedom"),
                                           [replace(post, views=views)]),
                                 CapturePath.CATCH_UP, day + timedelta(hours=hours))
            # a two-day digest ending 48 h after the first post's day began
            material = await gather_material(db, Period(day, day + timedelta(hours=48)))
        finally:
            await db.close()
        return render_text(build_digest(material), UTC)

    text = asyncio.run(main())
    # 16.1k now, 4.3k at the last sample before the last 24 h (3.2 h)
    assert "16K views, +11K in the last 24 h" in text, text
    assert "2K views, 1.2K at 1 h" in text, text
