"""Downloads pause when the disk is nearly full or the budget is reached: one notice to
the admins per pause, capture goes on, and downloads resume by themselves when there is
room again (the files then stored whole, hashes right)."""

from __future__ import annotations

import asyncio
import hashlib

from alertkit import ADMIN, people, settings
from capturekit import resolved, until

from bot.app import default_components
from bot.media import policy
from bot.media.downloader import SPACE_RECHECK
from bot.sim.model import ContentSpec, MediaSpec
from storage.mediastore import MediaStore

MB = 1 << 20


def notices(sim):
    return [m for m in sim.world.sent_by_bot(ADMIN) if m.text.startswith("⏸")]


async def statuses(db, channel_id):
    rows = await db.fetchall("SELECT message_id, status, sha256 FROM media_items "
                             "WHERE channel_id = ? ORDER BY message_id", (channel_id,))
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_full_disk_pauses_downloads_with_one_notice_and_they_resume_when_freed(sim,
                                                                                 monkeypatch):
    admin, *_ = people(sim)
    legion = sim.world.add_channel("legionoffreedom", "Легион")
    free = {"bytes": 10 * MB}                      # under the reserve: the disk is full
    monkeypatch.setattr(MediaStore, "free_bytes", lambda _self: free["bytes"])
    video = MediaSpec("video", content=ContentSpec(bytes=300_000, seed=3))

    async def body():
        async with sim.running(default_components, settings=settings(sim)) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            await sim.ask(admin, "/start")         # the bot may write to people who wrote
            first = [sim.world.post(legion, f"Фото {i}", media=MediaSpec(
                "photo", width=800, height=600, content=ContentSpec(seed=i))) for i in (1, 2)]
            await sim.until(lambda: notices(sim), timeout=300)
            # paused: later posts are still captured, and the admins are not told again
            later = sim.world.post(legion, "Видео", media=video)
            await until(lambda: _count(rt.db, legion.id, 3), timeout=300, step=1.0)
            await asyncio.sleep(SPACE_RECHECK * 2)
            paused = await statuses(rt.db, legion.id)
            told = len(notices(sim))
            free["bytes"] = 10_000 * MB            # room again
            await until(lambda: _all_done(rt.db, legion.id), timeout=SPACE_RECHECK * 3,
                        step=5.0)
            pause_row = await rt.db.fetchone("SELECT count(*) FROM media_pause")
            return [*first, later], paused, told, await statuses(rt.db, legion.id), pause_row[0]

    posts, paused, told, after, pause_rows = sim.run(body)
    assert told == 1
    [notice] = notices(sim)
    assert "Media downloads paused: the disk is nearly full" in notice.text
    assert "Capture and alerts go on" in notice.text
    assert {s for s, _ in paused.values()} == {"pending"} and len(paused) == 3
    for post in posts:
        status, sha = after[post.id]
        assert status == "done"
        assert sha == hashlib.sha256(post.file.read(0, post.file.size)).hexdigest()
    assert pause_rows == 0


async def _count(db, channel_id, n):
    return len(await statuses(db, channel_id)) >= n


async def _all_done(db, channel_id):
    found = await statuses(db, channel_id)
    return bool(found) and all(s == "done" for s, _ in found.values())


def test_lack_of_space_names_the_budget_or_the_disk():
    # the budget counts what is stored, what is being downloaded and the next file
    assert policy.lack_of_space(10 * MB, 80 * MB, 5 * MB, 100 * MB, 10_000 * MB) is None
    reason, detail = policy.lack_of_space(20 * MB, 80 * MB, 5 * MB, 100 * MB, 10_000 * MB)
    assert reason == "budget" and "TGMON_MEDIA_BUDGET" in detail
    # no budget: only the disk's reserve counts
    assert policy.lack_of_space(20 * MB, 80 * MB, 0, None, policy.RESERVE + 21 * MB) is None
    reason, detail = policy.lack_of_space(20 * MB, 0, 0, None, policy.RESERVE + 19 * MB)
    assert reason == "disk_full" and "left on the disk" in detail


def test_a_photo_alert_waits_for_its_download_but_not_while_downloads_are_paused():
    from datetime import UTC, datetime, timedelta

    queued = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
    soon, late = queued + timedelta(seconds=5), queued + timedelta(seconds=policy.PHOTO_WAIT)
    assert policy.photo_alert("done", True, queued, late) == "photo"
    assert policy.photo_alert("pending", False, queued, soon) == "wait"
    assert policy.photo_alert("pending", False, queued, late) == "text"       # waited enough
    assert policy.photo_alert("pending", False, queued, soon, paused=True) == "text"
    assert policy.photo_alert("done", False, queued, soon) == "text"          # file gone
    assert policy.photo_alert("too_large", False, queued, soon) == "text"
