"""The requests the watcher makes besides reading history: looking a username up,
joining a channel, searching public channels. Each takes the client and plain values
and answers in tgmon's own types (:mod:`bot.telegram.records`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telethon import errors
from telethon.tl import functions, types

from bot.telegram.records import ChannelAccess, channel_access, is_channel_entity
from config.errors import TgmonError


@dataclass(frozen=True)
class Resolution:
    status: str                         # ok, unresolved or private (storage.watchlist)
    access: ChannelAccess | None = None
    detail: str | None = None           # why not, for people


async def resolve_once(client: Any, username: str) -> Resolution:
    """One resolution. Raises flood waits and unexpected errors."""
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


JOIN_REQUEST = functions.channels.JoinChannelRequest.__name__   # how the journal names it


@dataclass(frozen=True)
class Refusal:
    """Why Telegram refused a join, for people; ``too_many``: the account is in as many
    channels as Telegram allows."""

    why: str
    too_many: bool = False


async def join_channel(client: Any, channel_id: int, access_hash: int) -> Refusal | None:
    """Join a channel (Telegram pushes a channel's posts to its members). Returns why
    Telegram refused, or None when joined; raises flood waits and unexpected errors."""
    try:
        await client(functions.channels.JoinChannelRequest(
            types.InputChannel(channel_id, access_hash)))
    except errors.ChannelsTooMuchError:
        return Refusal("the watching account is in too many channels (Telegram allows "
                       "500)", too_many=True)
    except (errors.ChannelPrivateError, errors.ChannelInvalidError,
            errors.InviteRequestSentError) as e:
        return Refusal(f"Telegram refused ({type(e).__name__})")
    return None


async def search_channels(client: Any, query: str, limit: int) -> list[ChannelAccess]:
    """Public broadcast channels with a username whose name or username matches
    (``contacts.search``). Raises flood waits and unexpected errors."""
    try:
        found = await client(functions.contacts.SearchRequest(q=query, limit=limit))
    except errors.QueryTooShortError:
        raise TgmonError("Give at least three letters to search for.") from None
    out = []
    for chat in found.chats:
        access = channel_access(chat)
        if access is not None and access.broadcast and access.channel.username:
            out.append(access)
    return out
