"""Joining watched channels, once each: Telegram pushes a channel's posts only to its
members. Joins are spaced apart (Telegram limits them) and remembered in the database;
a channel that cannot be joined is still read by the reconcile poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.failures import failure, log_traceback
from bot.tasks import stop_tasks
from bot.telegram.clients import Client
from bot.telegram.errors import wait_seconds
from bot.telegram.requests import Refusal, join_channel
from bot.watcher.health import JOIN, FloodGate
from storage.watchlist import WatchEntry

log = logging.getLogger(__name__)

JOIN_SPACING = 30.0         # seconds between two joins


class Joiner:
    def __init__(self, client: Client, gate: FloodGate, now: Callable[[], datetime],
                 on_joined: Callable[[WatchEntry], Awaitable[None]],
                 on_refused: Callable[[WatchEntry, Refusal], Awaitable[None]],
                 on_flood_wait: Callable[[WatchEntry, float], Awaitable[None]],
                 spacing: float = JOIN_SPACING) -> None:
        self.client = client
        self.gate = gate
        self.now = now
        self.on_joined = on_joined
        self.on_refused = on_refused
        self.on_flood_wait = on_flood_wait
        self.spacing = spacing
        self._queue: asyncio.Queue[WatchEntry] = asyncio.Queue()
        self._queued: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self, name: str = "watcher joins") -> None:
        self._task = asyncio.create_task(self._run(), name=name)

    async def stop(self) -> None:
        await stop_tasks([self._task])
        self._task = None

    def join(self, entry: WatchEntry) -> None:
        if entry.channel_id is not None and entry.channel_id not in self._queued:
            self._queued.add(entry.channel_id)
            self._queue.put_nowait(entry)

    async def _run(self) -> None:
        while True:
            entry = await self._queue.get()
            try:
                await self._join(entry)
            except Exception as e:
                log.error("joining channel %s failed: %s", entry.channel_id, failure(e))
                log_traceback(log, e)
            finally:
                self._queued.discard(entry.channel_id or 0)
            await asyncio.sleep(self.spacing)

    async def _join(self, entry: WatchEntry) -> None:
        assert entry.channel_id is not None and entry.access_hash is not None
        while True:
            until = self.gate.closed_until(JOIN, self.now())
            if until is not None:
                await asyncio.sleep((until - self.now()).total_seconds())
            try:
                refused = await join_channel(self.client, entry.channel_id, entry.access_hash)
            except Exception as e:
                seconds = wait_seconds(e)
                if seconds is None:
                    raise
                self.gate.close(JOIN, seconds, self.now())
                await self.on_flood_wait(entry, seconds)
                continue
            if refused is not None:
                await self.on_refused(entry, refused)
                return
            await self.on_joined(entry)
            return
