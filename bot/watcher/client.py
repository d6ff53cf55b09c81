"""The watching account's client: Telethon's, plus a way to hear about reconnects.

After Telethon reconnects by itself it only calls ``get_me()`` and does not catch up
(its catch-up code after reconnecting is unreachable in 1.45), so pushes lost while the
link was down stay lost unless someone reads history. Its sender calls
``_handle_auto_reconnect`` after every automatic reconnect, against Telegram and in the
simulation alike; this subclass passes that on to listeners (the watcher), calmly when
the link keeps dropping.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from telethon import TelegramClient

from bot.failures import failure, log_traceback

log = logging.getLogger(__name__)

ReconnectListener = Callable[[], Awaitable[None]]


# A link that drops again and again (a proxy or firewall cutting every connection soon
# after it is made) reconnects many times a second. From STORM_RECONNECTS reconnects in
# STORM_WINDOW seconds on, listeners hear of them at most once every CALM_INTERVAL
# seconds (one catch-up, one log line), and one warning says why.
STORM_RECONNECTS = 5
STORM_WINDOW = 60.0
CALM_INTERVAL = 60.0


class WatchingClient(TelegramClient):
    """A ``TelegramClient`` that tells listeners when it has reconnected (by itself, or
    by tgmon after Telethon gave up: :meth:`reconnected`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_listeners: list[ReconnectListener] = []
        self._recent: deque[float] = deque()
        self._storming = False
        self._last_told = float("-inf")
        self._pending: asyncio.Task[None] | None = None

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        await self.reconnected()

    async def reconnected(self) -> None:
        """The client is connected again: tell the listeners (the watcher catches up),
        at most once a minute while the link keeps dropping."""
        now = asyncio.get_running_loop().time()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - STORM_WINDOW:
            self._recent.popleft()
        if len(self._recent) >= STORM_RECONNECTS:
            if not self._storming:
                self._storming = True
                log.warning("the connection to Telegram keeps dropping (%d reconnects in the "
                            "last %.0f s): a proxy or the network may be cutting it; catching "
                            "up at most once a minute until it holds", len(self._recent),
                            STORM_WINDOW)
            wait = self._last_told + CALM_INTERVAL - now
            if wait > 0:
                if self._pending is None or self._pending.done():
                    self._pending = asyncio.ensure_future(self._tell_later(wait))
                return
        elif self._storming and len(self._recent) <= 1:
            self._storming = False
            log.warning("the connection to Telegram holds again")
        await self._tell()

    async def _tell_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        if self.is_connected():
            await self._tell()

    async def _tell(self) -> None:
        self._last_told = asyncio.get_running_loop().time()
        for listener in list(self.reconnect_listeners):
            try:
                await listener()
            except Exception as e:
                log.error("a reconnect listener failed: %s", failure(e))
                log_traceback(log, e)

    async def _disconnect_coro(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        await super()._disconnect_coro()
