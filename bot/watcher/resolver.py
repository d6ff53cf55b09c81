"""Username -> channel id and access hash, once per channel, one at a time.

Telegram limits ``contacts.resolveUsername`` hard (waits of hours are reported), so
resolutions go through one queue, spaced apart, and a flood wait holds the queue for
as long as Telegram says. The result is kept in the database and never asked again.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from datetime import datetime

from bot.telegram.clients import Client
from bot.telegram.errors import wait_seconds
from bot.telegram.requests import Resolution, resolve_once
from bot.watcher.health import RESOLVE, FloodGate

log = logging.getLogger(__name__)

RESOLVE_SPACING = 10.0      # seconds between two resolutions


class Resolver:
    """Serialises resolutions with a spacing, waiting out flood waits."""

    def __init__(self, client: Client, gate: FloodGate, now: Callable[[], datetime],
                 on_flood_wait: Callable[[float], object] = lambda s: None,
                 spacing: float = RESOLVE_SPACING) -> None:
        self.client = client
        self.gate = gate
        self.now = now
        self.on_flood_wait = on_flood_wait
        self.spacing = spacing
        self._lock = asyncio.Lock()
        self._last: float | None = None

    async def resolve(self, username: str) -> Resolution:
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                until = self.gate.closed_until(RESOLVE, self.now())
                if until is not None:
                    await asyncio.sleep((until - self.now()).total_seconds())
                if self._last is not None:
                    await asyncio.sleep(max(0.0, self._last + self.spacing - loop.time()))
                try:
                    return await resolve_once(self.client, username)
                except Exception as e:
                    seconds = wait_seconds(e)
                    if seconds is None:
                        raise
                    self.gate.close(RESOLVE, seconds, self.now())
                    log.warning("resolving usernames: Telegram asks to wait %s s", seconds)
                    told = self.on_flood_wait(seconds)
                    if inspect.isawaitable(told):
                        await told
                finally:
                    self._last = loop.time()
