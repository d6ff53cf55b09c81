"""Catch-up sweeps: after start and after every reconnect, each watched channel is read
forward from its cursor (posts published while tgmon was down or disconnected,
however many) and then its recent posts are re-checked (edits and deletions no push
delivered). A sweep asked for while one runs is run once more after it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.tasks import stop_tasks
from bot.watcher.jobs import RECHECK, RECONCILE

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, channels: Callable[[], Iterable[int]],
                 run: Callable[[int, str], Awaitable[None]]) -> None:
        self.channels = channels
        self.run = run
        self.sweeps = 0                       # sweeps completed since start
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def request(self, why: str) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._loop(why), name=f"catch-up ({why})")

    async def _loop(self, why: str) -> None:
        while True:
            self._again = False
            log.info("catch-up (%s): reading every channel forward, then re-checking", why)
            for kind in (RECONCILE, RECHECK):
                for channel_id in list(self.channels()):
                    await self.run(channel_id, kind)
            self.sweeps += 1
            if not self._again:
                return
            why = "again"

    async def stop(self) -> None:
        await stop_tasks([self._task])
        self._task = None
