"""The capture's storage and pure parts: batches stored in one transaction, cursors,
pages of history turned into batches, flood gates and backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from storekit import get_post
from telethon.tl import types

from bot.telegram.history import backward_batch, forward_batch
from bot.watcher.health import FloodGate, backoff
from storage.capture import (
    Batch,
    add_event,
    event_counts,
    get_state,
    init_state,
    mark_synced,
    save_batch,
    unexplained_ids,
)
from storage.channels import save_channel
from storage.models import CapturePath, Channel, Post

T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
LEGION = Channel(1598551001, "legionoffreedom", "Легион")


def post(mid: int, text: str = "пост") -> Post:
    return Post(LEGION.channel_id, mid, T0, f"{text} {mid}")


async def test_a_batch_is_stored_together_and_the_cursor_only_moves_up(db):
    cid = LEGION.channel_id
    await save_channel(db, LEGION, T0)
    assert await get_state(db, cid) is None
    assert (await init_state(db, cid)).synced_id is None       # new: the initial window
    r = await save_batch(db, Batch(cid, channel=LEGION, posts=[post(5), post(7)],
                                   service_ids=[6], missing_ids=[4], synced_id=7),
                         CapturePath.CATCH_UP, T0)
    await mark_synced(db, cid, 7, T0)
    assert (r.new, r.edited, r.deleted) == (2, 0, 0)
    state = await get_state(db, cid)
    assert (state.synced_id, state.synced_at, state.last_capture) == (7, T0, T0)
    later = T0 + timedelta(minutes=5)
    await save_batch(db, Batch(cid, synced_id=3, deleted_ids=[5, 9]), CapturePath.CATCH_UP,
                     later)
    await mark_synced(db, cid, 6, later)
    state = await get_state(db, cid)
    assert state.synced_id == 7 and state.last_capture == T0 and state.synced_at == later
    assert (await get_post(db, cid, 5)).deleted_at == later
    reasons = dict(await db.fetchall(
        "SELECT message_id, reason FROM absent_messages WHERE channel_id = ?", (cid,)))
    assert reasons == {4: "deleted", 6: "service", 9: "deleted"}
    # a post is never explained away by a later "missing" note
    await save_batch(db, Batch(cid, missing_ids=[7]), CapturePath.CATCH_UP, later)
    assert 7 not in dict(await db.fetchall(
        "SELECT message_id, reason FROM absent_messages WHERE channel_id = ?", (cid,)))
    assert await unexplained_ids(db, cid, 1, 10) == [1, 2, 3, 8, 10]


async def test_a_channel_already_in_the_log_continues_after_its_newest_post(db):
    cid = LEGION.channel_id
    await save_batch(db, Batch(cid, channel=LEGION, posts=[post(40), post(41)]),
                     CapturePath.IMPORT, T0)
    await db.execute("DELETE FROM capture_state")          # as an import leaves it
    assert (await init_state(db, cid)).synced_id == 41


async def test_backfill_floor_goes_down_and_completion_sticks(db):
    cid = LEGION.channel_id
    await save_batch(db, Batch(cid, channel=LEGION, backfill_floor=50), CapturePath.BACKFILL, T0)
    await save_batch(db, Batch(cid, backfill_floor=20, backfill_complete=True),
                     CapturePath.BACKFILL, T0)
    await save_batch(db, Batch(cid, backfill_floor=30), CapturePath.BACKFILL, T0)
    state = await get_state(db, cid)
    assert (state.backfill_floor, state.backfill_complete) == (20, True)


async def test_events_are_counted_per_channel_and_for_the_client(db):
    await save_batch(db, Batch(LEGION.channel_id, channel=LEGION), CapturePath.LIVE, T0)
    await add_event(db, "flood_wait", LEGION.channel_id, "messages.getHistory 30 s", T0)
    await add_event(db, "flood_wait", LEGION.channel_id, "channels.getMessages 5 s",
                    T0 + timedelta(hours=2))
    await add_event(db, "reconnect", None, None, T0 + timedelta(hours=2))
    counts = await event_counts(db, T0 + timedelta(hours=1))
    assert counts.of(LEGION.channel_id, "flood_wait") == 1
    assert counts.client == {"reconnect": 1}
    assert (await event_counts(db)).of(LEGION.channel_id, "flood_wait") == 2
    with pytest.raises(ValueError):
        await add_event(db, "gossip", None, None, T0)


def message(mid: int, service: bool = False):
    peer = types.PeerChannel(LEGION.channel_id)
    if service:
        return types.MessageService(id=mid, peer_id=peer, date=T0,
                                    action=types.MessageActionChannelCreate("Легион"))
    return types.Message(id=mid, peer_id=peer, date=T0, message=f"пост {mid}")


def test_forward_pages_note_the_ids_they_passed_over():
    page = [message(12), message(13, service=True), message(16)]
    batch, after = forward_batch(LEGION.channel_id, page, 10)
    assert after == 16 and batch.synced_id == 16
    assert [p.message_id for p in batch.posts] == [12, 16]
    assert list(batch.service_ids) == [13]
    assert list(batch.missing_ids) == [11, 14, 15]
    nxt, after = forward_batch(LEGION.channel_id, [message(18)], after)
    assert list(nxt.missing_ids) == [17] and after == 18
    # a read that began at a date knows nothing below its first message
    dated, _ = forward_batch(LEGION.channel_id, [message(30), message(32)], None)
    assert list(dated.missing_ids) == [31]
    empty, after = forward_batch(LEGION.channel_id, [], 18)
    assert after == 18 and empty.synced_id == 18 and not empty.posts


def test_backward_pages_note_the_ids_they_passed_over():
    batch, below = backward_batch(LEGION.channel_id, [message(9), message(6)], 10)
    assert below == 6 and batch.backfill_floor == 6
    assert list(batch.missing_ids) == [7, 8]
    batch, below = backward_batch(LEGION.channel_id, [message(3)], below)
    assert list(batch.missing_ids) == [4, 5] and below == 3


def test_flood_gate_and_backoff():
    gate = FloodGate()
    assert gate.closed_until("messages.getHistory", T0) is None
    until = gate.close("messages.getHistory", 30, T0)
    assert until == T0 + timedelta(seconds=30)
    gate.close("messages.getHistory", 5, T0)               # a shorter wait does not shorten
    assert gate.closed_until("messages.getHistory", T0 + timedelta(seconds=10)) == until
    assert gate.closed_until("channels.getMessages", T0) is None
    assert gate.closed_until("messages.getHistory", until) is None
    base = timedelta(minutes=5)
    assert [backoff(n, base) for n in (1, 2, 3)] == [base, base * 2, base * 4]
    assert backoff(50, base) == timedelta(hours=6)


async def test_the_bulk_upsert_stores_exactly_what_store_posts_stores(tmp_path):
    """Same batches through both: same rows, versions, journal and counts."""
    from storage.db import open_database
    from storage.models import Entity, ForwardOrigin, Media, Reaction
    from storage.posts import store_posts

    full = Post(LEGION.channel_id, 1, T0, "Колонна у Глотово", (Entity("bold", 0, 7),),
                views=2**40, forwards=3, replies=None, reactions=(Reaction("🔥", 9),),
                media=Media("video", "a.mp4", 9437184, "video/mp4", 1280, 720, 42.5),
                forward=ForwardOrigin(1187203004, 7802, T0, "Губернатор"), reply_to_id=None,
                grouped_id=13_600_000_000_000_000_01, author="А. Б.", edit_date=None)
    edited = Post(LEGION.channel_id, 1, T0, "Колонна у Глотово и Козинки", views=5,
                  edit_date=T0 + timedelta(hours=1))
    stale = Post(LEGION.channel_id, 1, T0, "Колонна у Глотово", views=7)
    batches = [[full, post(2), post(2, "дважды")], [edited, post(3)], [stale, post(2)]]
    tables = ("posts", "post_versions", "post_changes", "posts_fts")
    seen = []
    for bulk in (False, True):
        db = await open_database(tmp_path / f"bulk-{bulk}.db")
        try:
            await save_channel(db, LEGION, T0)
            results = []
            for i, batch in enumerate(batches):
                async with db.transaction() as conn:
                    results.append(await store_posts(conn, batch, CapturePath.CATCH_UP,
                                                     T0 + timedelta(minutes=i), bulk=bulk))
            dump = {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t}")]
                    for t in tables}
            seen.append((results, dump))
        finally:
            await db.close()
    assert seen[0] == seen[1]
    results, dump = seen[0]
    assert [(r.new, r.edited) for r in results] == [(2, 1), (1, 1), (0, 1)]
    assert len(dump["post_versions"]) == 6       # the stale copy made none
