"""Issue 10, item 2: a simulation whose loop keeps running while virtual time stands
still fails fast, naming what was running, instead of spinning for ever."""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import UTC, datetime

import pytest
import time_machine
from test_sim_stall import stall_scenario

from bot.cli import main as cli
from bot.sim import player
from bot.sim.vclock import SimulationLivelock, VirtualTimeLoop, run_simulated
from config.errors import TgmonError

START = datetime(2024, 3, 12, 0, 0, tzinfo=UTC)
LIMIT = 0.5          # real seconds; the default (10) is for real runs


async def ping(name: str) -> None:
    while True:                       # hands the loop over but never lets time move
        await asyncio.sleep(0)


def test_tasks_handing_the_loop_to_each_other_are_reported_with_their_stacks():
    async def main():
        await asyncio.gather(asyncio.create_task(ping("a"), name="pinger"),
                             asyncio.create_task(ping("b"), name="ponger"))

    with pytest.raises(SimulationLivelock) as raised:
        run_simulated(main, start=START, livelock_limit=LIMIT)
    report = str(raised.value)
    assert "virtual time has stood at 2024-03-12T00:00:00+00:00" in report
    assert ("task 'pinger' running ping and 1 more like it ('ponger')" in report
            or "task 'ponger' running ping and 1 more like it ('pinger')" in report)
    assert "in ping\n" in report and "await asyncio.sleep(0)" in report   # the stack
    assert "other tasks (1):\n- task 'Task-" in report and "running _as_coroutine" in report
    assert isinstance(raised.value, TgmonError)       # the CLI prints it, no traceback
    assert not time_machine.escape_hatch.is_travelling()


def test_a_callback_that_never_returns_is_stopped_and_shown():
    def spin_forever() -> None:
        n = 0
        while True:
            n += 1

    async def main():
        await asyncio.sleep(60)
        spin_forever()

    with pytest.raises(SimulationLivelock) as raised:
        run_simulated(main, start=START, livelock_limit=LIMIT)
    report = str(raised.value)
    assert "one callback has run" in report
    assert "in spin_forever\n" in report


def test_work_that_lets_time_move_is_no_livelock():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for _ in range(200):          # busy, but every step moves the clock
            await asyncio.sleep(0.01)
        return loop.time() - t0

    assert run_simulated(main, start=START, livelock_limit=LIMIT) == pytest.approx(2.0)


def test_the_stall_of_issue_10_would_have_failed_fast(fresh_machine, monkeypatch, capsys):
    """With the clock fix undone, ``tgmon run --simulate`` on the issue's scenario ends
    with an error naming Telethon's update loop instead of spinning for ever."""
    monkeypatch.setattr(VirtualTimeLoop, "_reach_due_timers", lambda self: None)
    monkeypatch.setattr(player, "run_simulated",
                        functools.partial(run_simulated, livelock_limit=5.0))
    scenario = fresh_machine / "stall.json"
    scenario.write_text(json.dumps(stall_scenario()))

    code = cli(["run", "--simulate", str(scenario), "--db", "stall.db"])
    err = capsys.readouterr().err
    assert code == 1
    assert "tgmon: error: the simulation is livelocked" in err
    assert "running UpdateMethods._update_loop" in err
    assert "telethon/client/updates.py" in err, err
