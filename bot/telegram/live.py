"""Live capture: Telethon's new-post, edit and deletion events of the watching account,
one catch-all handler each, filtered against the live set of watched channel ids.

Handlers are registered before the client connects (Telethon delivers what it missed
right after ``connect()``), and wait until the watcher has loaded its channels. An
error in a handler is logged (its class, never post text) and capture goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telethon import TelegramClient, events, utils

from bot.failures import failure, log_traceback
from bot.telegram.records import (
    channel_from_entity,
    channel_id_of,
    is_channel_entity,
    is_post,
    post_from_message,
)
from storage.capture import Batch

log = logging.getLogger(__name__)


def _channel(event: Any) -> Any:
    chat = getattr(event, "chat", None)
    return channel_from_entity(chat) if is_channel_entity(chat) else None


class LiveCapture:
    def __init__(self, is_watched: Callable[[int], bool],
                 store: Callable[[Batch], Awaitable[None]], ready: asyncio.Event) -> None:
        self.is_watched = is_watched
        self.store = store
        self.ready = ready
        self.client: TelegramClient | None = None

    def attach(self, client: TelegramClient) -> None:
        self.client = client
        client.add_event_handler(self.on_new, events.NewMessage())
        client.add_event_handler(self.on_edit, events.MessageEdited())
        client.add_event_handler(self.on_delete, events.MessageDeleted())

    def detach(self) -> None:
        if self.client is not None:
            for handler in (self.on_new, self.on_edit, self.on_delete):
                self.client.remove_event_handler(handler)
            self.client = None

    async def on_new(self, event: Any) -> None:
        await self._message(event, "new post")

    async def on_edit(self, event: Any) -> None:
        await self._message(event, "edit")

    async def _message(self, event: Any, what: str) -> None:
        await self.ready.wait()
        message = event.message
        cid = channel_id_of(message)
        if cid is None or not self.is_watched(cid) or not is_post(message):
            return
        try:
            await self.store(Batch(cid, channel=_channel(event),
                                   posts=[post_from_message(message)]))
        except Exception as e:
            # Reconcile and re-check will find this post again.
            hide = [message.message]
            log.error("storing a pushed %s of channel %s failed: %s", what, cid,
                      failure(e, hide))
            log_traceback(log, e, hide)

    async def on_delete(self, event: Any) -> None:
        await self.ready.wait()
        if event.chat_id is None:          # private chats and basic groups: not channels
            return
        cid, _ = utils.resolve_id(event.chat_id)
        if not self.is_watched(cid):
            return
        try:
            await self.store(Batch(cid, deleted_ids=list(event.deleted_ids)))
        except Exception as e:
            log.error("storing a pushed deletion in channel %s failed: %s", cid, failure(e))
            log_traceback(log, e)
