"""The watching account's client: Telethon's, plus a way to hear about reconnects.

After Telethon reconnects by itself it only calls ``get_me()`` and does not catch up
(its catch-up code after reconnecting is unreachable in 1.45), so pushes lost while the
link was down stay lost unless someone reads history. Its sender calls
``_handle_auto_reconnect`` after every automatic reconnect, against Telegram and in the
simulation alike; this subclass passes that on to listeners (the watcher).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telethon import TelegramClient

from bot.failures import failure, log_traceback

log = logging.getLogger(__name__)

ReconnectListener = Callable[[], Awaitable[None]]


class WatchingClient(TelegramClient):
    """A ``TelegramClient`` that tells listeners when it has reconnected by itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_listeners: list[ReconnectListener] = []

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        for listener in list(self.reconnect_listeners):
            try:
                await listener()
            except Exception as e:
                log.error("a reconnect listener failed: %s", failure(e))
                log_traceback(log, e)
