"""Telling the bot's admins what went wrong with a channel (or came right again),
through the durable outbox like everything the bot sends."""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from storage import outbox
from storage.watchlist import WatchEntry

log = logging.getLogger(__name__)


def name_of(entry: WatchEntry) -> str:
    """How logs and notices name a watched channel (its configured username)."""
    return f"@{entry.username}"


async def notify_admins(rt: Runtime, key: str, html: str) -> None:
    """Queue ``html`` (already escaped) for every admin; ``key`` makes a replay of the
    same notice a no-op. Without a bot nothing is queued (the log has it)."""
    if rt.bot is None or not rt.settings.admins:
        return
    now = rt.now()
    for admin in sorted(rt.settings.admins):
        await outbox.put(rt.db, outbox.OutMessage(admin, "notice", html,
                                                  dedup_key=f"{key}:{admin}"), now)
    rt.outbox_changed.notify()
