"""Capturing comments of channels that have them on (``/watch CHANNEL comments``,
``TGMON_COMMENTS``): after each reconcile, the threads of recent posts whose comment
count changed are read from their cursor in bounded passes; after each re-check, the
recent comments are read again by id (edits become versions, deletions tombstones).

Comments are polled, not pushed (Telegram pushes them only to the group's members), so
nothing is missed across downtime: every thread of the re-check window is read from
where it was left."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.telegram.clients import Client
from bot.telegram.comments import Discussion, discussion_of, read_comments_again, read_thread
from bot.telegram.history import peer_of
from storage.comments import (
    CommentResult,
    recent_comment_ids,
    store_comments,
    threads_to_read,
)
from storage.db import Database
from storage.models import CapturePath
from storage.watchlist import WatchEntry

PASS_BUDGET = 1000      # comments read per channel and catch-up pass (the rest: next pass)

log = logging.getLogger(__name__)


def comments_on(setting: tuple[str, ...] | None, choices: dict[str, bool],
                username: str) -> bool:
    """Whether a channel's comments are captured: an admin's choice, else the setting
    (``*`` or the username)."""
    name = username.lower()
    if name in choices:
        return choices[name]
    setting = setting or ()
    return "*" in setting or name in {s.lower() for s in setting}


class CommentCapture:
    """Comment passes of the watcher; remembers each channel's discussion group."""

    def __init__(self) -> None:
        # (channel id, its access hash) -> its group: hashes differ per watching account
        self._groups: dict[tuple[int, int], Discussion | None] = {}

    async def _discussion(self, client: Client, entry: WatchEntry) -> Discussion | None:
        assert entry.channel_id is not None and entry.access_hash is not None
        key = (entry.channel_id, entry.access_hash)
        if key not in self._groups:
            self._groups[key] = await discussion_of(
                client, peer_of(entry.channel_id, entry.access_hash))
        return self._groups[key]

    async def catch_up(self, client: Client, db: Database, entry: WatchEntry, *,
                       now: Callable[[], datetime], window: timedelta,
                       budget: int | None = None) -> CommentResult:
        """Read new comments of the threads whose count changed, oldest first, at most
        ``budget`` (default :data:`PASS_BUDGET`) in this pass."""
        if budget is None:
            budget = PASS_BUDGET
        assert entry.channel_id is not None and entry.access_hash is not None
        cid = entry.channel_id
        threads = await threads_to_read(db, cid, now() - window)
        result = CommentResult()
        if not threads:
            return result
        group = await self._discussion(client, entry)
        if group is None:
            return result
        peer = peer_of(cid, entry.access_hash)
        for thread in threads:
            if budget <= 0:
                break                          # the next pass goes on from the cursors
            async for page in read_thread(client, peer, thread.post_id, thread.read_id,
                                          budget):
                budget -= len(page.comments)
                result += await store_comments(
                    db, group.group_id, page.comments, CapturePath.CATCH_UP, now(),
                    thread=(cid, thread.post_id, page.read_id),
                    replies=thread.replies if page.done else None)
        return result

    async def recheck(self, client: Client, db: Database, entry: WatchEntry, *,
                      now: Callable[[], datetime], window: timedelta) -> CommentResult:
        """Read the comments of the window's posts again by id."""
        assert entry.channel_id is not None
        cid = entry.channel_id
        result = CommentResult()
        known = await recent_comment_ids(db, cid, now() - window)
        if not known:
            return result
        group = await self._discussion(client, entry)
        if group is None:
            return result
        for group_id, ids in known.items():
            if group_id != group.group_id:
                continue                        # an earlier group: no longer linked
            async for found, gone in read_comments_again(client, group, cid, ids):
                result += await store_comments(db, group_id, found, CapturePath.CATCH_UP,
                                               now(), deleted_ids=gone)
        return result
