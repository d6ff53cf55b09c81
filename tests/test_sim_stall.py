"""Issue 10, item 1: a scenario that used to spin forever after three hours of scenario
time (two channels, a post every 20 minutes, the default 08:00 Moscow digest).

The cause was the virtual clock, not Telegram nor tgmon: asyncio runs a timer once the
clock is within 1 ns of it, Telethon's MessageBox then found its no-updates deadline
still 1 ns away and waited again, and the user and bot clients, sharing that deadline,
kept the loop busy so the clock never moved. See ``VirtualTimeLoop._reach_due_timers``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from bot.app import default_components
from bot.sim.vclock import run_simulated

START = datetime(2024, 3, 12, 3, 0, tzinfo=UTC)


def stall_scenario() -> dict:
    """The scenario from issue 10, as it was reported."""
    events: list[dict] = [{"at": "2024-03-12T03:01:00Z",
                           "message": {"from": 700001, "text": "/start"}}]
    for n in range(1, 14):
        channel = "chan_a" if n % 2 else "chan_b"
        events.append({
            "at": (START + timedelta(minutes=20 * n)).isoformat(),
            "post": {"channel": channel, "id": (n + 1) // 2, "text": f"Post {n}",
                     "views": 100 + n, "forwards": 1}})
    return {
        "start": "2024-03-12T03:00:00Z", "end": "2024-03-12T08:00:00Z",
        "settings": {"admins": [1], "access": "open", "timezone": "Europe/Moscow",
                     "digest_time": "08:00", "watch": ["chan_a", "chan_b"]},
        "channels": [
            {"id": 1800000001, "username": "chan_a", "title": "A", "history": []},
            {"id": 1800000002, "username": "chan_b", "title": "B", "history": []}],
        "users": [{"id": 700001, "first_name": "Desk", "username": "desk"}],
        "events": events,
    }


def test_the_reported_scenario_plays_through(sim):
    report = sim.play(stall_scenario(), components=default_components)

    assert report.captured == 13
    digests = [m for m in report.world.sent_by_bot(700001)
               if m.at == datetime(2024, 3, 12, 5, 0, tzinfo=UTC)]
    assert len(digests) == 1                                    # 08:00 in Moscow


async def _telethon_style_wait(deadline: float) -> int:
    """How Telethon's update loop waits for a MessageBox deadline: it is met when
    ``loop.time() >= deadline``; until then, wait for updates with the remaining delay.
    Returns how many waits it took (fails instead of spinning for ever)."""
    loop = asyncio.get_running_loop()
    waits = 0
    while (delay := deadline - loop.time()) > 0:
        waits += 1
        assert waits < 100, f"spinning: the clock stays at {loop.time()!r} < {deadline!r}"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), delay)
    return waits


def test_a_timer_run_early_by_asyncio_finds_its_deadline_met():
    """The clock at an odd nanosecond (10800.000000003), two clients whose deadline is
    900 s later, and another timer 1 ns before it: asyncio runs both waits together."""
    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(10800.000000003)
        deadline = loop.time() + 900
        loop.call_at(deadline - 1e-9, lambda: None)
        waits = await asyncio.gather(_telethon_style_wait(deadline),
                                     _telethon_style_wait(deadline))
        return waits, loop.time() >= deadline, loop.time() - deadline

    waits, met, late = run_simulated(main, start=START)
    assert met and late < 1e-6
    assert all(w <= 2 for w in waits)
