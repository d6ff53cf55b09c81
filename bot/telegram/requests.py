"""The requests the watcher makes besides reading history: looking a username up,
joining a channel, searching public channels. Each takes the client and plain values
and answers in tgmon's own types (:mod:`bot.telegram.records`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telethon import errors
from telethon.tl import functions

from bot.telegram.records import ChannelAccess, channel_access, is_channel_entity


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
