"""Coverage of the log: captured ranges, explained and unexplained holes, capture paths,
and how ``tgmon stats`` shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.cli import main
from storage.capture import Batch, add_event, save_batch
from storage.coverage import IdRange, Ranges, channel_coverage, coverage_of, top_run_floor
from storage.db import open_database
from storage.models import CapturePath, Channel, Post
from storage.watchlist import set_resolved, set_status, sync_config

T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
RYBAR = Channel(1001, "rybar", "Рыбарь")


def post(mid: int, channel: Channel = RYBAR) -> Post:
    return Post(channel.channel_id, mid, T0 + timedelta(minutes=mid), f"пост {mid}")


def test_coverage_of_ids_in_order():
    known = [(1, "backfill", "2024-03-12T05:00:00Z"), (2, "backfill", "2024-03-12T05:00:00Z"),
             (3, "absent:service", None), (4, "live", "2024-03-12T07:00:00Z"),
             (7, "catch-up", "2024-03-12T06:00:00Z"), (8, "absent:deleted", None),
             (9, "absent:deleted", None), (10, "live", "2024-03-12T08:00:00Z")]
    c = coverage_of(1001, known)
    assert c.captured == Ranges(5, 4, (IdRange(1, 2), IdRange(4, 4), IdRange(7, 7),
                                       IdRange(10, 10)),
                                (IdRange(1, 2), IdRange(4, 4), IdRange(7, 7), IdRange(10, 10)))
    assert c.captured.shown() == "1-2, 4, 7, 10"
    assert c.explained == {"deleted": 2, "service": 1}
    assert c.unexplained.count == 2 and c.unexplained.shown() == "5-6"
    assert c.by_path == {"backfill": 2, "catch-up": 1, "live": 2}
    assert c.last_capture == datetime(2024, 3, 12, 8, 0, tzinfo=UTC)
    assert (c.first_id, c.last_id, c.complete) == (1, 10, False)


def test_many_ranges_are_shown_first_and_last():
    known = [(i, "live", None) for i in range(1, 200, 2)]          # every other id
    c = coverage_of(1, known, keep=5)
    assert c.unexplained.runs == 99
    assert c.unexplained.shown(5) == "2, 4, 6, … (94 more), 196, 198"
    assert coverage_of(1, []).captured.shown() == ""


async def test_channel_coverage_and_the_top_run_in_the_database(db):
    await save_batch(db, Batch(1001, channel=RYBAR, posts=[post(m) for m in (1, 2, 5, 6)]),
                     CapturePath.BACKFILL, T0)
    await save_batch(db, Batch(1001, posts=[post(m) for m in (9, 10)], missing_ids=[7, 8],
                               service_ids=[11]), CapturePath.CATCH_UP, T0)
    # an id noted missing that turns out to be a post counts as the post
    await save_batch(db, Batch(1001, missing_ids=[12]), CapturePath.CATCH_UP, T0)
    await save_batch(db, Batch(1001, posts=[post(12)]), CapturePath.LIVE,
                     T0 + timedelta(hours=1))
    c = await channel_coverage(db, 1001)
    assert c.captured.shown() == "1-2, 5-6, 9-10, 12"
    assert c.explained == {"deleted": 2, "service": 1}
    assert c.unexplained.shown() == "3-4"
    assert c.by_path == {"backfill": 4, "catch-up": 2, "live": 1}
    assert c.last_capture == T0 + timedelta(hours=1)
    # backfill continues below the unbroken run at the top: 5-12
    assert await top_run_floor(db, 1001) == 5
    assert await top_run_floor(db, 2002) is None


def test_stats_shows_coverage_and_the_watch_list(tmp_path, capsys):
    path = tmp_path / "log.db"

    async def fill():
        db = await open_database(path)
        try:
            await sync_config(db, [("rybar", "Рыбарь"), ("no_such_channel", None)], T0)
            await save_batch(db, Batch(1001, channel=RYBAR,
                                       posts=[post(m) for m in (1, 2, 3, 6)],
                                       missing_ids=[4]), CapturePath.CATCH_UP, T0)
            entries = {e.username: e for e in await _entries(db)}
            await set_resolved(db, entries["rybar"].id, 1001, 55, T0)
            await set_status(db, entries["no_such_channel"].id, "unresolved",
                             "no channel has the username @no_such_channel", T0)
            await add_event(db, "flood_wait", 1001, "messages.getHistory 30 s", T0)
            await add_event(db, "reconnect", None, None, T0)
        finally:
            await db.close()

    import asyncio
    asyncio.run(fill())
    assert main(["stats", "--db", str(path)]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    out = blocks[1].splitlines()
    assert out == [
        "Coverage (message ids from the first to the last one known):",
        "@rybar (watched, ok; main): captured 1-3, 6 (4 posts in 2 ranges); explained: 1 deleted "
        "on Telegram; unexplained 1: 5",
        "  last capture 2024-03-12 05:00 UTC; by capture path: catch-up 4; 1 flood wait, "
        "0 failures",
        "@no_such_channel (watched, unresolved): no channel has the username @no_such_channel",
        "Reconnects of the watching account: 1"]
    # looked up by main (as before accounts were several), never run: main holds it
    assert blocks[2].splitlines() == [
        "Watching accounts (flood waits and failures of the last 24 h):",
        "  main: not run yet; holds 1 channel: 0 joined, 0 polled, 1 to join; 0 flood waits, "
        "0 failures"]
    assert main(["stats", "--json", "--db", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["coverage"]["first_captured_ranges"] == ["1-3", "6"]
    assert data[0]["coverage"]["explained"] == {"deleted": 1}
    assert data[0]["coverage"]["first_unexplained_ranges"] == ["5"]
    assert data[0]["watch"] == {"status": "ok", "detail": None, "account": "main", "mode": None}
    assert data[1] == {"channel": "no_such_channel", "channel_id": None, "coverage": None,
                       "watch": {"status": "unresolved",
                                 "detail": "no channel has the username @no_such_channel"}}


async def _entries(db):
    from storage.watchlist import live_entries
    return await live_entries(db)
