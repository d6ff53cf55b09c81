"""``tgmon backfill`` against the simulated Telegram: resumable, --limit and --since,
flood waits waited out, continuing below what the watcher captured."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from capturekit import absent, resolved, rows, until
from simkit import T0

from bot.cli import main
from bot.cli.backfill import BackfillError, summary
from bot.cli.backfill import backfill as backfill_with
from bot.watcher.backfill import Goal
from bot.watcher.component import Watcher
from bot.watcher.session import SessionLockedError
from storage.coverage import channel_coverage
from storage.db import open_database


async def backfill(s, factory, refs, goal, **kw):
    """``tgmon backfill``'s core on the simulation, its database known to the virtual
    clock (which must not move while the database works)."""
    db = await open_database(s.db_path)
    remove = asyncio.get_running_loop().add_busy(lambda: db.busy)
    try:
        return await backfill_with(s, factory, refs, goal, db=db, **kw)
    finally:
        remove()
        await db.close()


def history(sim, n=350, deleted=(100, 101, 102)):
    """A channel with ``n`` posts, one every hour up to an hour before the start."""
    legion = sim.world.add_channel("legionoffreedom", "Легион")
    for i in range(1, n + 1):
        sim.world.post(legion, f"пост {i}", date=T0 - timedelta(hours=n + 1 - i), push=False)
    sim.world.delete(legion, list(deleted), push=False)
    return legion


def history_offsets(sim):
    return [r.offset_id for r in sim.world.requests_of("messages.getHistory")]


class Bars:
    def __init__(self):
        self.made = []

    def __call__(self, name, total):
        bar = Bar(name, total)
        self.made.append(bar)
        return bar


class Bar:
    def __init__(self, name, total):
        self.name, self.total, self.done, self.closed = name, total, 0, False

    def update(self, n):
        self.done += n

    def close(self):
        self.closed = True


async def stored(s, channel_id):
    db = await open_database(s.db_path)
    try:
        return await rows(db, channel_id), await absent(db, channel_id), \
            await channel_coverage(db, channel_id)
    finally:
        await db.close()


def test_backfill_is_resumable_and_reads_nothing_twice(sim):
    legion = history(sim)
    s = sim.settings()
    bars = Bars()

    async def body():
        factory = sim.world.client_factory()
        runs = []
        for limit in (120, 120, 1000, 1000):
            before = len(sim.world.requests_of("messages.getHistory"))
            runs.append((await backfill(s, factory, ["legionoffreedom"], Goal(limit=limit),
                                        progress=bars, wait_time=0))[0])
            runs[-1].requests = len(sim.world.requests_of("messages.getHistory")) - before
        return runs, await stored(s, legion.id)

    runs, (got, holes, cover) = sim.run(body)
    first, second, third, fourth = runs
    assert (first.read, first.floor) == (120, 231)
    assert (second.read, second.floor) == (120, 111)
    assert third.read == 107 and third.complete and third.floor == 1
    assert fourth.read == 0 and fourth.complete and fourth.requests == 0
    assert first.read + second.read + third.read == 347         # every message read once
    assert set(got) == set(range(1, 351)) - {100, 101, 102}
    assert {r["captured_via"] for r in got.values()} == {"backfill"}
    assert holes == {100: "deleted", 101: "deleted", 102: "deleted"}
    assert cover.complete and cover.unexplained.count == 0
    assert [(b.total, b.done, b.closed) for b in bars.made[:3]] == [
        (120, 120, True), (120, 120, True), (1000, 107, True)]
    assert summary(runs)[-1] == "@legionoffreedom: nothing older to read (its history is " \
                                "complete)"
    assert summary(runs)[0].startswith("@legionoffreedom: 120 messages read, 120 new posts;")


def test_backfill_since_a_date_continues_below_what_the_watcher_captured(sim):
    legion = history(sim, n=100, deleted=())
    s = sim.settings(initial_window=timedelta(hours=10))
    bars = Bars()

    async def body():
        watcher = Watcher()
        async with sim.running(components=lambda: [watcher], settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            await until(lambda: _count(rt.db, legion.id, 10), timeout=300, step=1.0)
        since = T0 - timedelta(hours=40)
        outcome = (await backfill(s, sim.world.client_factory(), [], Goal(since=since),
                                  progress=bars, wait_time=0))[0]
        return outcome, await stored(s, legion.id)

    outcome, (got, _, cover) = sim.run(body)
    # the watcher read ids 91-100 (the last 10 h); backfill read from 90 down to the post
    # 40 h before the start (id 61), and nothing it already had
    assert (outcome.read, outcome.floor) == (30, 61)
    assert set(got) == set(range(61, 101))
    assert {got[m]["captured_via"] for m in range(61, 91)} == {"backfill"}
    assert {got[m]["captured_via"] for m in range(91, 101)} == {"catch-up"}
    assert not outcome.complete
    assert bars.made[0].total == 30 and bars.made[0].done == 30
    assert cover.by_path == {"backfill": 30, "catch-up": 10}


async def _count(db, channel_id, n):
    return len(await rows(db, channel_id)) >= n


def test_backfill_waits_out_a_flood_wait_and_loses_nothing(sim):
    legion = history(sim, n=250, deleted=())
    s = sim.settings()

    async def body():
        sim.world.flood_wait("messages.getHistory", 120, role="user")
        start = sim.now()
        outcome = (await backfill(s, sim.world.client_factory(), [], Goal(limit=10_000),
                                  wait_time=0))[0]
        return outcome, sim.now() - start, await stored(s, legion.id)

    outcome, took, (got, _, _) = sim.run(body)
    assert outcome.waited == 120 and took >= timedelta(seconds=120)
    assert outcome.read == 250 and outcome.complete
    assert set(got) == set(range(1, 251))
    times = [r.at for r in sim.world.requests if type(r.request).__name__ == "GetHistoryRequest"]
    assert not [t for t in times if T0 + timedelta(seconds=1) < t < T0 + timedelta(seconds=120)]


def test_backfill_refuses_unknown_channels_and_a_busy_session(sim):
    history(sim, n=5, deleted=())
    s = sim.settings()

    async def body():
        with pytest.raises(BackfillError, match="rybar is not a watched channel"):
            await backfill(s, sim.world.client_factory(), ["rybar"], Goal(limit=1))
        async with sim.running(components=lambda: [], settings=s) as (_app, _):
            with pytest.raises(SessionLockedError):
                await backfill(s, sim.world.client_factory(), [], Goal(limit=1))

    sim.run(body)


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_backfill_command_line_errors(clean_env, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["backfill", "legionoffreedom"])
    assert exited.value.code == 2
    assert "one of the arguments --since --limit is required" in capsys.readouterr().err
    assert main(["backfill", "--since", "last tuesday"]) == 1
    assert "--since 'last tuesday' is not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["backfill", "--limit", "0"])
    assert "not a positive whole number" in capsys.readouterr().err
    assert main(["backfill", "--limit", "10"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "TGMON_API_ID" in err
