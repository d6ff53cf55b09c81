"""Reading a channel's history into :class:`storage.capture.Batch` records.

A history read returns every message in its id range, oldest or newest first, so an id
the read passed over without returning does not exist on Telegram any more (it was
deleted, possibly before tgmon ever saw it): it is noted as missing, which explains the
hole it leaves in the log. Service messages (``channel created``, pinned, ...) are
noted as not being posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from telethon import TelegramClient
from telethon.tl import functions, types

from bot.adapter import (
    channel_from_entity,
    is_channel_entity,
    is_message,
    is_post,
    post_from_message,
)
from storage.capture import Batch
from storage.models import Channel

PAGE = 100          # messages per history request (Telegram's maximum)


def peer_of(channel_id: int, access_hash: int) -> types.InputPeerChannel:
    """The channel as an input peer: no username resolution, ever."""
    return types.InputPeerChannel(channel_id, access_hash)


async def pages(messages: AsyncIterator[Any], size: int = PAGE) -> AsyncIterator[list[Any]]:
    """Group what ``iter_messages`` yields into pages of ``size`` (one request each)."""
    page: list[Any] = []
    async for m in messages:
        page.append(m)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


async def history_down(client: TelegramClient, peer: types.InputPeerChannel,
                       below: int | None, limit: int | None,
                       wait_time: float) -> AsyncIterator[tuple[list[Any], Channel | None]]:
    """Pages of history newest first, below ``below`` (exclusive; None: from the newest
    message), one ``messages.getHistory`` each, until ``limit`` messages or the first
    message. Yields the page's messages and the channel as the answer showed it."""
    offset = below or 0
    left = limit
    first = True
    while left is None or left > 0:
        if not first and wait_time:
            await asyncio.sleep(wait_time)
        first = False
        size = PAGE if left is None else min(PAGE, left)
        answer = await client(functions.messages.GetHistoryRequest(
            peer=peer, offset_id=offset, offset_date=None, add_offset=0, limit=size,
            max_id=0, min_id=0, hash=0))
        page = [m for m in answer.messages if is_message(m)]
        if not page:
            return
        chat = next((c for c in answer.chats if getattr(c, "id", None) == peer.channel_id),
                    None)
        yield page, channel_from_entity(chat) if is_channel_entity(chat) else None
        offset = min(m.id for m in page)
        if left is not None:
            left -= len(page)
        if offset <= 1:
            return


def channel_of(messages: Sequence[Any]) -> Channel | None:
    """The channel as the answer showed it (to record username and title changes)."""
    for m in messages:
        chat = getattr(m, "chat", None)
        if is_channel_entity(chat):
            return channel_from_entity(chat)
    return None


def _split(channel_id: int, messages: Sequence[Any]) -> tuple[list[Any], list[int]]:
    posts, service = [], []
    for m in messages:
        if is_post(m):
            posts.append(post_from_message(m))
        else:
            service.append(m.id)
    return posts, service


def forward_batch(channel_id: int, messages: Sequence[Any],
                  after: int | None) -> tuple[Batch, int | None]:
    """A page of a read going up (oldest first). ``after`` is the id the read continues
    from (its cursor, or the last id of the previous page); None when the read began
    at a date, so nothing is known below the first message. Returns the batch (its
    cursor advanced to the last id) and the new ``after``."""
    ids = [m.id for m in messages]
    missing: list[int] = []
    prev = after
    for mid in ids:
        if prev is not None and mid > prev + 1:
            missing.extend(range(prev + 1, mid))
        prev = mid if prev is None else max(prev, mid)
    posts, service = _split(channel_id, messages)
    top = max(ids) if ids else after
    return Batch(channel_id, channel=channel_of(messages), posts=posts, service_ids=service,
                 missing_ids=missing, synced_id=top), top


def backward_batch(channel_id: int, messages: Sequence[Any], below: int | None, *,
                   channel: Channel | None = None,
                   complete: bool = False) -> tuple[Batch, int | None]:
    """A page of a read going down (newest first) from ``below`` (exclusive). Returns the
    batch (backfill floor lowered to the last id) and the new ``below``."""
    ids = [m.id for m in messages]
    missing: list[int] = []
    prev = below
    for mid in ids:
        if prev is not None and mid < prev - 1:
            missing.extend(range(mid + 1, prev))
        prev = mid if prev is None else min(prev, mid)
    posts, service = _split(channel_id, messages)
    floor = min(ids) if ids else below
    return Batch(channel_id, channel=channel or channel_of(messages), posts=posts,
                 service_ids=service, missing_ids=missing, backfill_floor=floor,
                 backfill_complete=complete), floor
