"""Reading a channel's history into :class:`storage.capture.Batch` records: the reads
the watcher's reconcile and re-check and backfill make, in tgmon's own types.

A history read returns every message in its id range, oldest or newest first, so an id
the read passed over without returning does not exist on Telegram any more (it was
deleted, possibly before tgmon ever saw it): it is noted as missing, which explains the
hole it leaves in the log. Service messages (``channel created``, pinned, ...) are
noted as not being posts.

Reading by id (:func:`read_by_ids`) matches the answer to the question by each
message's id, never by position: Telegram answers ``messageEmpty`` for an id that does
not exist, but a server may also leave such ids out (Telethon's own code warns that
Telegram may), and then positions no longer line up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telethon import TelegramClient, errors
from telethon.tl import functions, types

from bot.telegram.records import (
    channel_from_entity,
    channel_id_of,
    is_channel_entity,
    is_message,
    is_post,
    is_service,
    post_from_message,
    service_from_message,
)
from storage.capture import Batch
from storage.models import Channel, ServiceMessage

PAGE = 100          # messages per history request (Telegram's maximum)
ALONE_MAX = 100     # ids left out of answers that one read asks about again, one by one

log = logging.getLogger(__name__)


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


def _split(channel_id: int, messages: Sequence[Any]
           ) -> tuple[list[Any], list[int], list[ServiceMessage]]:
    """Posts, the ids of the rest (not posts), and the service messages among them."""
    posts, service, kept = [], [], []
    for m in messages:
        if is_post(m):
            posts.append(post_from_message(m))
        else:
            service.append(m.id)
            if is_service(m):
                kept.append(service_from_message(m))
    return posts, service, kept


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
    posts, service, kept = _split(channel_id, messages)
    top = max(ids) if ids else after
    return Batch(channel_id, channel=channel_of(messages), posts=posts, service_ids=service,
                 services=kept, missing_ids=missing, synced_id=top), top


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
    posts, service, kept = _split(channel_id, messages)
    floor = min(ids) if ids else below
    return Batch(channel_id, channel=channel or channel_of(messages), posts=posts,
                 service_ids=service, services=kept, missing_ids=missing,
                 backfill_floor=floor,
                 backfill_complete=complete), floor


@dataclass
class ByIds:
    """What one step of a read by id learnt: messages found (posts and service
    messages), ids that do not exist, ids left out and not asked about again (over
    ``alone_max``: not settled), and the channel as the answer showed it."""

    found: dict[int, Any] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)
    unsettled: list[int] = field(default_factory=list)
    channel: Channel | None = None


async def read_by_ids(client: TelegramClient, peer: types.InputPeerChannel,
                      ids: Sequence[int], *,
                      alone_max: int = ALONE_MAX) -> AsyncIterator[ByIds]:
    """Ask ``channels.getMessages`` for ``ids``, a page of :data:`PAGE` at a time, and
    yield what each page settled (store it before the next request: a flood wait may
    end the read). An id answered with ``messageEmpty`` is gone; an id left out of an
    answer is asked once more on its own, after the pages, and only if that answer has
    no message either is it gone."""
    left_out: list[int] = []
    for i in range(0, len(ids), PAGE):
        chunk = list(ids[i:i + PAGE])
        page = await _ask(client, peer, chunk)
        left_out += [mid for mid in chunk if mid not in page.found and mid not in page.gone]
        yield page
    if not left_out:
        return
    log.info("channel %s: %d id(s) left out of channels.getMessages answers, asking about "
             "each alone: %s", peer.channel_id, len(left_out), _ids_text(left_out))
    for mid in left_out[:alone_max]:
        alone = await _ask(client, peer, [mid])
        if mid not in alone.found and mid not in alone.gone:
            alone.gone.append(mid)          # left out twice: it does not exist
        yield alone
    if left_out[alone_max:]:
        yield ByIds(unsettled=left_out[alone_max:])


async def _ask(client: TelegramClient, peer: types.InputPeerChannel,
               ids: list[int]) -> ByIds:
    """One ``channels.getMessages``: this channel's messages by id, and the ids answered
    with ``messageEmpty``; ids left out are in neither."""
    try:
        answer = await client(functions.channels.GetMessagesRequest(
            channel=types.InputChannel(peer.channel_id, peer.access_hash),
            id=[types.InputMessageID(mid) for mid in ids]))
    except errors.MessageIdsEmptyError:     # "no valid ids": none of them exists
        return ByIds(gone=list(ids))
    asked = set(ids)
    messages = getattr(answer, "messages", [])
    found = {m.id: m for m in messages if is_message(m) and m.id in asked
             and channel_id_of(m) == peer.channel_id}
    empty = {m.id for m in messages
             if isinstance(m, types.MessageEmpty) and m.id in asked} - found.keys()
    chat = next((c for c in getattr(answer, "chats", [])
                 if getattr(c, "id", None) == peer.channel_id), None)
    return ByIds(found=found, gone=sorted(empty),
                 channel=channel_from_entity(chat) if is_channel_entity(chat) else None)


def _ids_text(ids: Sequence[int], shown: int = 10) -> str:
    text = ", ".join(map(str, ids[:shown]))
    return text + (f", … ({len(ids)} in all)" if len(ids) > shown else "")


# ---- what the watcher and backfill read ----------------------------------------------

async def read_up(client: TelegramClient, peer: types.InputPeerChannel, *,
                  after: int | None, since: datetime | None,
                  wait_time: float) -> AsyncIterator[tuple[Batch, int | None]]:
    """Everything newer than ``after`` (or, when None, posted at ``since`` or later),
    oldest first, a page at a time: each page's batch (its cursor advanced) and the id
    the read continues from."""
    if after is None:
        messages = client.iter_messages(peer, offset_date=since, reverse=True,
                                        wait_time=wait_time)
    else:
        messages = client.iter_messages(peer, min_id=after, reverse=True, wait_time=wait_time)
    async for page in pages(messages):
        batch, after = forward_batch(peer.channel_id, page, after)
        yield batch, after


async def newest_id(client: TelegramClient, peer: types.InputPeerChannel) -> int | None:
    """The id of the channel's newest message (None: it has none)."""
    newest = await client.get_messages(peer, limit=1)
    return newest[0].id if newest else None


async def id_before(client: TelegramClient, peer: types.InputPeerChannel,
                    date: datetime) -> int | None:
    """The id of the last message posted before ``date`` (None: there is none)."""
    before = await client.get_messages(peer, offset_date=date, limit=1)
    return before[0].id if before else None


@dataclass(frozen=True)
class Down:
    """A page of a read going down: its batch, how many messages it read, the date of
    its oldest, and whether it reached the date the read stops at."""

    batch: Batch
    read: int
    floor: int | None
    oldest: datetime | None
    reached_since: bool


async def read_down(client: TelegramClient, peer: types.InputPeerChannel, below: int | None,
                    limit: int | None, since: datetime | None,
                    wait_time: float) -> AsyncIterator[Down]:
    """History newest first below ``below``, until ``limit`` messages, the first message
    or (when ``since`` is given) the first message dated before ``since``, which ends
    the read (a page of nothing but such messages reads nothing)."""
    async for page, channel in history_down(client, peer, below, limit, wait_time):
        reached = False
        if since is not None:
            kept = [m for m in page if m.date >= since]
            reached = len(kept) < len(page)
            page = kept
        if not page:
            yield Down(Batch(peer.channel_id), 0, below, None, reached)
            return
        batch, below = backward_batch(peer.channel_id, page, below, channel=channel)
        yield Down(batch, len(page), below, min(m.date for m in page), reached)
        if reached:
            return


async def read_again(client: TelegramClient, peer: types.InputPeerChannel,
                     ids: Sequence[int]) -> AsyncIterator[tuple[Batch, list[int]]]:
    """The messages ``ids`` read again by id (:func:`read_by_ids`), as batches (gone ids
    deleted, posts as new versions if changed) and the ids not settled this time."""
    async for answer in read_by_ids(client, peer, ids):
        posts, service, kept = _split(peer.channel_id,
                                      [m for _, m in sorted(answer.found.items())])
        yield Batch(peer.channel_id, channel=answer.channel, posts=posts,
                    deleted_ids=answer.gone, service_ids=service,
                    services=kept), answer.unsettled
