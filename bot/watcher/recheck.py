"""Re-checking recent posts: deletions, edits and counters that no push delivered.

Telethon 1.45 drops edits and deletions that come back through getChannelDifference
after missed pushes, and nothing is pushed while tgmon is down or disconnected, so
reading the recent posts again by id is the only way to see them. The same read asks
about ids in the window that tgmon never saw: gone (deleted before capture), a service
message, or a post after all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from telethon import TelegramClient

from bot.adapter import is_post, post_from_message
from bot.watcher.reading import PAGE, channel_of, peer_of
from storage.capture import (
    Batch,
    get_state,
    recent_ids,
    save_batch,
    set_rechecked,
    unexplained_ids,
)
from storage.db import Database
from storage.models import CapturePath, Post
from storage.posts import StoreResult
from storage.watchlist import WatchEntry

MAX_PROBE = 1000        # unexplained ids asked about per re-check


async def recheck(client: TelegramClient, db: Database, entry: WatchEntry, *,
                  now: Callable[[], datetime], window: timedelta) -> StoreResult:
    """Read the channel's posts of the last ``window`` again by id: gone ones become
    tombstones, changed ones new versions, counters are refreshed."""
    assert entry.channel_id is not None and entry.access_hash is not None
    cid = entry.channel_id
    peer = peer_of(cid, entry.access_hash)
    stored = await recent_ids(db, cid, now() - window)
    probe: list[int] = []
    if stored:
        state = await get_state(db, cid)
        top = max(stored[0], (state.synced_id or 0) if state else 0)
        probe = await unexplained_ids(db, cid, stored[-1], top, MAX_PROBE)
    ids = sorted(set(stored) | set(probe))
    result = StoreResult()
    for i in range(0, len(ids), PAGE):
        chunk = ids[i:i + PAGE]
        found = await client.get_messages(peer, ids=chunk)
        posts: list[Post] = []
        gone: list[int] = []
        service: list[int] = []
        for mid, message in zip(chunk, found, strict=True):
            if message is None:
                gone.append(mid)
            elif is_post(message):
                posts.append(post_from_message(message))
            else:
                service.append(mid)
        batch = Batch(cid, channel=channel_of([m for m in found if m is not None]),
                      posts=posts, deleted_ids=gone, service_ids=service)
        result += await save_batch(db, batch, CapturePath.CATCH_UP, now())
    await set_rechecked(db, cid, now())
    return result
