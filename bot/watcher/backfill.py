"""Backfill: reading a channel's older history, newest first, below what the log holds.

It continues from the lowest id of the unbroken run of ids at the top of the log
(:func:`storage.coverage.top_run_floor`), so a second run goes on where the first
stopped and reads nothing twice; each page is stored (posts, service ids, ids found
missing, the new floor) in one transaction, so an interrupted run loses at most the
page in flight. Flood waits are waited out. While a page is written, the next is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.progress import ProgressBar, no_progress
from bot.telegram.clients import Client
from bot.telegram.errors import wait_seconds
from bot.telegram.history import id_before, newest_id, peer_of, read_down
from storage.capture import Batch, get_state, save_batch
from storage.coverage import top_run_floor
from storage.db import Database
from storage.models import CapturePath
from storage.posts import StoreResult
from storage.watchlist import WatchEntry

log = logging.getLogger(__name__)

WRITE_BATCH = 1000          # messages stored per transaction


def _merge(channel_id: int, batches: list[Batch]) -> Batch:
    """Pages read one after the other (going down) as one batch."""
    return Batch(channel_id, channel=next((b.channel for b in batches if b.channel), None),
                 posts=[p for b in batches for p in b.posts],
                 service_ids=[i for b in batches for i in b.service_ids],
                 services=[m for b in batches for m in b.services],
                 missing_ids=[i for b in batches for i in b.missing_ids],
                 backfill_floor=min(b.backfill_floor for b in batches
                                    if b.backfill_floor is not None))


# (channel's name, expected messages or None) -> a bar (tqdm on a terminal)
Progress = Callable[[str, int | None], ProgressBar]


@dataclass(frozen=True)
class Goal:
    """How far back: messages dated ``since`` or later, or ``limit`` more messages."""

    since: datetime | None = None
    limit: int | None = None


@dataclass
class Outcome:
    username: str
    channel_id: int
    read: int = 0                       # messages read (posts and service messages)
    stored: StoreResult = field(default_factory=StoreResult)
    floor: int | None = None            # lowest id read
    oldest: datetime | None = None      # date of the oldest post read
    complete: bool = False              # reached the channel's first message
    waited: float = 0.0                 # seconds of flood waits waited out


async def backfill_channel(client: Client, db: Database, entry: WatchEntry,
                           goal: Goal, *, now: Callable[[], datetime],
                           progress: Progress = no_progress, wait_time: float = 1.0,
                           on_wait: Callable[[int], object] = lambda s: None,
                           account: str | None = None) -> Outcome:
    """Read the channel's history down with ``client``, the client of ``account``
    (default: ``entry.account``; ``entry.access_hash`` must be that account's)."""
    assert entry.channel_id is not None and entry.access_hash is not None
    account = account or entry.account
    cid = entry.channel_id
    peer = peer_of(cid, entry.access_hash)
    out = Outcome(entry.username, cid)
    state = await get_state(db, cid)
    below = await top_run_floor(db, cid)
    if state is not None and state.backfill_complete and state.backfill_floor is not None \
            and below is not None and below <= state.backfill_floor:
        out.complete, out.floor = True, below
        return out
    bar = progress(f"@{entry.username}", await _expected(client, peer, below, goal))
    try:
        while True:
            try:
                done = await _read(client, db, cid, peer, below, goal, out, bar, now,
                                   wait_time, account)
            except Exception as e:
                seconds = wait_seconds(e)
                if seconds is None:
                    raise
                log.warning("backfill of @%s: Telegram asks to wait %s s", entry.username,
                            seconds)
                on_wait(seconds)
                out.waited += seconds
                await asyncio.sleep(seconds)
                below = out.floor if out.floor is not None else below
                continue
            if done:
                return out
    finally:
        bar.close()


async def _expected(client: Client, peer: Any, below: int | None,
                    goal: Goal) -> int | None:
    """Roughly how many messages the run will read (for the progress bar)."""
    if goal.limit is not None:
        return goal.limit
    if goal.since is None:
        return below - 1 if below else None
    before = await id_before(client, peer, goal.since)
    top = below
    if top is None:
        newest = await newest_id(client, peer)
        top = newest + 1 if newest is not None else None
    if top is None:
        return 0
    return max(0, top - 1 - (before or 0))


async def _read(client: Client, db: Database, cid: int, peer: Any, below: int | None,
                goal: Goal, out: Outcome, bar: ProgressBar, now: Callable[[], datetime],
                wait_time: float, account: str | None) -> bool:
    """Read down from ``below``; True when the goal or the first message is reached."""
    left = None if goal.limit is None else goal.limit - out.read
    if left is not None and left <= 0:
        return True
    writing: asyncio.Future[StoreResult] | None = None
    pending: list[Batch] = []
    reached_since = False

    async def write() -> None:
        # One transaction per WRITE_BATCH messages: while it runs in the database's
        # thread, the next pages are read.
        nonlocal writing
        if writing is not None:
            out.stored += await writing
            writing = None
        if pending:
            merged = _merge(cid, pending)
            pending.clear()
            writing = asyncio.ensure_future(save_batch(db, merged, CapturePath.BACKFILL, now(),
                                                       account))

    try:
        async for down in read_down(client, peer, below, left, goal.since, wait_time):
            reached_since = down.reached_since
            if not down.read:
                break
            below = down.floor
            pending.append(down.batch)
            out.read += down.read
            out.floor = below
            assert down.oldest is not None
            out.oldest = down.oldest if out.oldest is None else min(out.oldest, down.oldest)
            bar.update(down.read)
            if sum(len(b.posts) + len(b.service_ids) for b in pending) >= WRITE_BATCH:
                await write()
            if reached_since:
                break
    finally:
        await write()
        if writing is not None:
            out.stored += await writing
    limited = goal.limit is not None and out.read >= goal.limit
    if not reached_since and not limited:
        # Telegram had nothing older: the channel's history is complete.
        out.complete = True
        floor = out.floor if out.floor is not None else below
        if floor is not None:
            await save_batch(db, Batch(cid, backfill_floor=floor, backfill_complete=True),
                             CapturePath.BACKFILL, now())
    return True
