"""Reading comments: a channel's discussion group (``channels.getFullChannel``), a
post's thread in bounded passes (``messages.getReplies``, oldest first from a cursor),
and comments read again by id in the group (``channels.getMessages``), as tgmon's
:class:`storage.models.Comment` records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from telethon import TelegramClient
from telethon.tl import functions, types

from bot.telegram.history import PAGE, read_by_ids
from bot.telegram.records import comment_from_message, is_post
from storage.models import Comment


@dataclass(frozen=True)
class Discussion:
    group_id: int
    access_hash: int

    @property
    def peer(self) -> types.InputPeerChannel:
        return types.InputPeerChannel(self.group_id, self.access_hash)


async def discussion_of(client: TelegramClient,
                        peer: types.InputPeerChannel) -> Discussion | None:
    """The channel's linked discussion group, if it has one the account can read."""
    full = await client(functions.channels.GetFullChannelRequest(
        types.InputChannel(peer.channel_id, peer.access_hash)))
    linked = getattr(full.full_chat, "linked_chat_id", None)
    if not linked:
        return None
    chat = next((c for c in full.chats if getattr(c, "id", None) == linked), None)
    if not isinstance(chat, types.Channel) or chat.access_hash is None:
        return None
    return Discussion(linked, chat.access_hash)


@dataclass(frozen=True)
class ThreadPage:
    comments: list[Comment]
    read_id: int            # the thread is read up to this comment id
    done: bool              # nothing newer is left


async def read_thread(client: TelegramClient, peer: types.InputPeerChannel, post_id: int,
                      after: int, budget: int) -> AsyncIterator[ThreadPage]:
    """A post's comments newer than ``after``, oldest first, a page (one
    ``messages.getReplies``) at a time, until none are left or ``budget`` comments were
    read: a bounded pass; the next one resumes from the last ``read_id``."""
    left = budget
    while left > 0:
        size = min(PAGE, left)
        answer = await client(functions.messages.GetRepliesRequest(
            peer=peer, msg_id=post_id, offset_id=after + 1, offset_date=None,
            add_offset=-size, limit=size, max_id=0, min_id=after, hash=0))
        senders = {u.id: u for u in [*answer.users, *answer.chats]}
        found = sorted((m for m in answer.messages if is_post(m) and m.id > after),
                       key=lambda m: m.id)
        comments = [comment_from_message(m, peer.channel_id, post_id, senders) for m in found]
        if comments:
            after = comments[-1].comment_id
        left -= len(comments)
        done = len(comments) < size
        yield ThreadPage(comments, after, done)
        if done:
            return


async def read_comments_again(client: TelegramClient, discussion: Discussion,
                              channel_id: int, ids: dict[int, int]
                              ) -> AsyncIterator[tuple[list[Comment], list[int]]]:
    """Comments ``{comment id: post id}`` read again by id in the group: the comments
    found (edits become versions) and the ids Telegram says are gone."""
    async for answer in read_by_ids(client, discussion.peer, sorted(ids)):
        found: Sequence[Any] = [m for m in answer.found.values() if is_post(m)]
        yield ([comment_from_message(m, channel_id, ids[m.id]) for m in found],
               list(answer.gone))
