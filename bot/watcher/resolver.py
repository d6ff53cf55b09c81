"""Username -> channel id and access hash, once per channel, one at a time.

Telegram limits ``contacts.resolveUsername`` hard (waits of hours are reported), so
resolutions go through one queue, spaced apart, and a flood wait holds the queue for
as long as Telegram says. The result is kept in the database and never asked again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telethon import TelegramClient, errors
from telethon.tl import functions

from bot.adapter import ChannelAccess, channel_access, is_channel_entity
from bot.watcher.health import RESOLVE, FloodGate

log = logging.getLogger(__name__)

RESOLVE_SPACING = 10.0      # seconds between two resolutions


@dataclass(frozen=True)
class Resolution:
    status: str                         # ok, unresolved or private (storage.watchlist)
    access: ChannelAccess | None = None
    detail: str | None = None           # why not, for people


async def resolve_once(client: TelegramClient, username: str) -> Resolution:
    """One resolution. Raises ``FloodWaitError`` and unexpected errors."""
    try:
        found = await client(functions.contacts.ResolveUsernameRequest(username))
    except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError):
        return Resolution("unresolved", detail=f"no channel has the username @{username}")
    except errors.ChannelPrivateError:
        return Resolution("private", detail=f"@{username} is private")
    for chat in found.chats:
        access = channel_access(chat)
        if access is not None:
            return Resolution("ok", access)
        if is_channel_entity(chat):
            return Resolution("private", detail=f"@{username} is private")
    return Resolution("unresolved", detail=f"@{username} is a person or a bot, not a channel")


class Resolver:
    """Serialises resolutions with a spacing, waiting out flood waits."""

    def __init__(self, client: TelegramClient, gate: FloodGate, now: Callable[[], datetime],
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
                except errors.FloodWaitError as e:
                    self.gate.close(RESOLVE, e.seconds, self.now())
                    log.warning("resolving usernames: Telegram asks to wait %s s", e.seconds)
                    self.on_flood_wait(e.seconds)
                finally:
                    self._last = loop.time()
