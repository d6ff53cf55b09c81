"""The virtual clock: it jumps over idle time, waits (without moving) for work on other
threads, agrees with the wall clock, and gives the real clock back afterwards."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.sim.vclock import SimulationStalled, run_simulated, sleep_until

START = datetime(2024, 3, 12, 0, 0, tzinfo=UTC)


def test_a_day_of_sleeping_moves_every_clock_together():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(3600)
        await sleep_until(START + timedelta(days=1))
        return loop.time() - t0, datetime.now(UTC), time.time()

    elapsed, now, epoch = run_simulated(main, start=START)
    assert elapsed == pytest.approx(86400)
    assert now == START + timedelta(days=1)
    assert epoch == pytest.approx((START + timedelta(days=1)).timestamp())
    assert not time_machine.escape_hatch.is_travelling()
    assert datetime.now(UTC).year > 2024


def test_the_clock_waits_for_busy_work_on_another_thread():
    seen = {}

    async def main():
        loop = asyncio.get_running_loop()
        done = threading.Event()
        loop.add_busy(lambda: not done.is_set())
        t0 = loop.time()

        def work():
            time.sleep(0.05)
            seen["virtual elapsed during work"] = loop.time() - t0
            done.set()
        threading.Thread(target=work).start()
        await asyncio.sleep(10)                  # would be over at once if nothing waited
        seen["after"] = loop.time() - t0

    run_simulated(main, start=START)
    assert seen == {"virtual elapsed during work": 0.0, "after": pytest.approx(10)}


def test_the_clock_waits_for_executor_jobs():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        timer = asyncio.ensure_future(asyncio.sleep(5))
        await loop.run_in_executor(None, time.sleep, 0.05)   # real: time.sleep is not patched
        during = loop.time() - t0
        await timer
        return during

    assert run_simulated(main, start=START) == 0.0


def test_waiting_for_nothing_is_reported_not_hung():
    async def main():
        await asyncio.get_running_loop().create_future()     # nobody will ever set it

    with pytest.raises(SimulationStalled):
        run_simulated(main, start=START, stall_limit=0.2)
    assert not time_machine.escape_hatch.is_travelling()


def test_the_clock_waits_for_the_database_to_close(tmp_path):
    """Database.busy covers closing (the worker thread's stop), so a pending timer does not
    fire "during" it."""
    from storage.db import open_database

    async def main():
        loop = asyncio.get_running_loop()
        db = await open_database(tmp_path / "t.db")
        loop.add_busy(lambda: db.busy)
        timer = asyncio.ensure_future(asyncio.sleep(3600))
        t0 = loop.time()
        await db.close()
        elapsed = loop.time() - t0
        timer.cancel()
        return elapsed

    assert run_simulated(main, start=START) == 0.0
