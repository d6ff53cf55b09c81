"""The simulated Telegram: how fast a simulated day plays, what a request through the
simulated server costs next to TL encoding alone, and how many pushes per second reach a
handler through Telethon's update loop next to updates fed straight into its queue."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figure, timed

START = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
ROUNDS = 5


def _day(quick: bool) -> Figure:
    from bot.sim.player import play_scenario
    from bot.sim.scenario import load_scenario
    from config.settings import Settings

    scenario = load_scenario()
    with tempfile.TemporaryDirectory() as tmp, timed() as watch:
        play_scenario(scenario, Settings(db_path=Path(tmp) / "sim.db"))
    speed = (scenario.end - scenario.start).total_seconds() / watch.seconds
    return Figure("built-in day played: scenario seconds per real second", speed, "x",
                  ">= 1440 (a day in under a minute)", speed >= 1440, baseline=1.0,
                  note=f"played in {watch.seconds:.1f} s; baseline: real time")


def _requests(quick: bool) -> Figure:
    from telethon.extensions import BinaryReader
    from telethon.tl import functions

    from bot.sim.tl import result_bytes
    from bot.sim.vclock import run_simulated
    from bot.sim.world import World

    n = 200 if quick else 2000
    world = World()
    chan = world.add_channel("legionoffreedom")
    for i in range(300):
        world.post(chan, f"пост {i} о Тёткино и Козинке " * 4,
                   date=START - timedelta(minutes=400 - i), push=False)

    async def main() -> tuple[float, float]:
        client = world.make_client("user")
        await client.connect()
        peer = await client.get_input_entity("legionoffreedom")
        request = functions.messages.GetHistoryRequest(peer, 0, None, 0, 100, 0, 0, 0)
        with timed() as sim:
            for _ in range(n):
                await client(request)
        answer = await client(request)
        with timed() as tl_only:
            for _ in range(n):
                BinaryReader(bytes(request)).tgread_object()
                request.read_result(BinaryReader(result_bytes(answer)))
        await client.disconnect()
        return sim.seconds / n * 1e3, tl_only.seconds / n * 1e3

    per_request, tl_only = run_simulated(main, start=START, livelock_limit=None)
    return Figure("messages.getHistory (100 posts) through the simulation", per_request, "ms",
                  "< 5 ms", per_request < 5, baseline=tl_only,
                  note="baseline: TL encoding and decoding of the same request and answer")


def _pushes(quick: bool) -> list[Figure]:
    from telethon import events
    from telethon.tl import types

    from bot.sim import render
    from bot.sim.vclock import run_simulated
    from bot.sim.world import World

    n = 300 if quick else 3000
    world = World()
    chan = world.add_channel("legionoffreedom")

    async def through_world() -> float:
        client = world.make_client("user")
        got: list[int] = []

        async def handler(event: object) -> None:
            got.append(1)
        client.add_event_handler(handler, events.NewMessage())
        await client.connect()
        with timed(time.process_time) as watch:
            for i in range(n):
                world.post(chan, f"пост {i}")
                await asyncio.sleep(0)
            while len(got) < n:
                await asyncio.sleep(0.001)
        await client.disconnect()
        return n / watch.seconds

    async def straight_into_queue() -> float:
        client = world.make_client("user")
        got: list[int] = []

        async def handler(event: object) -> None:
            got.append(1)
        client.add_event_handler(handler, events.NewMessage())
        await client.connect()
        acc = world.user
        with timed(time.process_time) as watch:
            for i in range(n):
                p = world.post(chan, f"пост {i}", push=False)
                client._updates_queue.put_nowait(types.Updates(
                    updates=[types.UpdateNewChannelMessage(render.post(chan, p, 0.0), chan.pts, 1)],
                    users=[], chats=[render.channel(chan, acc)], date=START, seq=0))
                await asyncio.sleep(0)
            while len(got) < n:
                await asyncio.sleep(0.001)
        await client.disconnect()
        return n / watch.seconds

    # Posts per second of this process's CPU time (everything runs in this thread on a
    # virtual clock; wall time on a shared machine measures the other workers as much),
    # rounds interleaved, best of each.
    baselines, rates = [], []
    for _ in range(1 if quick else ROUNDS):
        baselines.append(run_simulated(straight_into_queue, start=START, livelock_limit=None))
        rates.append(run_simulated(through_world, start=START, livelock_limit=None))
    baseline, rate = max(baselines), max(rates)
    return [Figure("pushed posts reaching a NewMessage handler", rate, "posts/s",
                   "ratio >= 0.5", rate / baseline >= 0.5, baseline=baseline,
                   note="baseline: the same updates put straight into Telethon's queue; "
                        f"per CPU second, best of {len(rates)} interleaved rounds each")]


def run(quick: bool) -> list[Figure]:
    return [_day(quick), _requests(quick), *_pushes(quick)]
