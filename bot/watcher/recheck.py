"""Re-checking recent posts: deletions, edits and counters that no push delivered.

Telethon 1.45 drops edits and deletions that come back through getChannelDifference
after missed pushes, and nothing is pushed while tgmon is down or disconnected, so
reading the recent posts again by id is the only way to see them. The same read asks
about ids in the window that tgmon never saw: gone (deleted before capture), a service
message, or a post after all. Answers are matched by message id (see
:func:`~bot.telegram.history.read_by_ids`): an id is gone only when Telegram says so,
or leaves it out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.telegram.clients import Client
from bot.telegram.history import peer_of, read_again
from storage.capture import (
    get_state,
    recent_ids,
    save_batch,
    set_rechecked,
    unexplained_ids,
)
from storage.db import Database
from storage.metrics import due_ids
from storage.models import CapturePath
from storage.posts import StoreResult
from storage.watchlist import WatchEntry

MAX_PROBE = 1000        # unexplained ids asked about per re-check

log = logging.getLogger(__name__)


async def recheck(client: Client, db: Database, entry: WatchEntry, *,
                  now: Callable[[], datetime], window: timedelta) -> StoreResult:
    """Read the channel's posts of the last ``window`` again by id (and older ones due
    for an engagement sample), with ``client`` (its holder's, ``entry.account``): gone
    ones become tombstones, changed ones new versions, counters are refreshed and
    sampled."""
    assert entry.channel_id is not None and entry.access_hash is not None
    cid = entry.channel_id
    peer = peer_of(cid, entry.access_hash)
    stored = await recent_ids(db, cid, now() - window)
    probe: list[int] = []
    if stored:
        state = await get_state(db, cid)
        top = max(stored[0], (state.synced_id or 0) if state else 0)
        probe = await unexplained_ids(db, cid, stored[-1], top, MAX_PROBE)
    # Posts past the window that passed 1 h, 6 h, 24 h or 48 h unread since: the
    # engagement samples researchers quote (storage.metrics).
    due = await due_ids(db, cid, now(), window)
    ids = sorted(set(stored) | set(probe) | set(due))
    result = StoreResult()
    async for batch, unsettled in read_again(client, peer, ids):
        if unsettled:
            log.info("re-check of channel %s: %d id(s) left out of answers are asked "
                     "about next time", cid, len(unsettled))
        result += await save_batch(db, batch, CapturePath.CATCH_UP, now(), entry.account)
    await set_rechecked(db, cid, now())
    return result
