"""Reading a channel forward from its cursor: what pushes missed, what was published
while tgmon was down, and (the first time) the initial window.

The cursor (``capture_state.synced_id``) only moves with what a history read stored,
in the same transaction; pushed posts never move it. So a push that lands while tgmon
is still catching up cannot make the catch-up skip the posts below it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.telegram.clients import Client
from bot.telegram.history import newest_id, peer_of, read_up
from storage.capture import get_state, init_state, mark_synced, save_batch
from storage.db import Database
from storage.models import CapturePath
from storage.posts import StoreResult
from storage.watchlist import WatchEntry


async def reconcile(client: Client, db: Database, entry: WatchEntry, *,
                    now: Callable[[], datetime], initial_window: timedelta,
                    wait_time: float = 1.0) -> StoreResult:
    """Read everything newer than the cursor (or, the first time, newer than
    ``initial_window`` ago) with ``client`` (its holder's, ``entry.account``) and store
    it with capture path ``catch-up``. Raises what
    Telegram raises (flood waits, private channels); what was stored stays stored."""
    assert entry.channel_id is not None and entry.access_hash is not None
    cid = entry.channel_id
    peer = peer_of(cid, entry.access_hash)
    state = await get_state(db, cid) or await init_state(db, cid)
    cursor = state.synced_id
    result = StoreResult()
    after = cursor
    async for batch, top in read_up(client, peer, after=cursor,
                                    since=now() - initial_window, wait_time=wait_time):
        result += await save_batch(db, batch, CapturePath.CATCH_UP, now(), entry.account)
        after = top
    if after is None:
        # A quiet channel with nothing in the window: continue after its newest message.
        after = await newest_id(client, peer) or 0
    await mark_synced(db, cid, after, now())
    return result
