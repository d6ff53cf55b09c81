"""The media downloader through the real app against the simulated Telegram: files
stored once under their SHA-256 with the right bytes, settings that skip or refuse
files, flood waits and lost connections mid-file resumed from the last part, an expired
file reference refreshed, a post deleted before its download recorded as missed, and
a restart mid-download resumed."""

from __future__ import annotations

import hashlib
from itertools import pairwise

from capturekit import resolved, until

from bot.media.downloader import MediaDownloader
from bot.sim.model import ContentSpec, MediaSpec
from bot.watcher.component import Watcher
from storage import media

PART = 64 * 1024           # small parts: a few-hundred-KB file takes several requests


def watcher_and_downloader(part: int = PART):
    return lambda: [Watcher(), MediaDownloader(part=part)]


def sim_bytes(sim, post) -> bytes:
    f = post.file
    return f.read(0, f.size)


async def items(db, channel_id):
    rows = await db.fetchall("SELECT * FROM media_items WHERE channel_id = ? ORDER BY id",
                             (channel_id,))
    return {r["message_id"]: r for r in rows}


async def settled(db, channel_id, n):
    found = await items(db, channel_id)
    return len(found) >= n and all(r["status"] != "pending" for r in found.values())


def test_photos_videos_and_documents_are_stored_once_under_their_hash(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    rybar = w.add_channel("rybar", "Рыбарь")
    photo = MediaSpec("photo", width=1280, height=960, content=ContentSpec(seed=7))
    video = MediaSpec("video", file_name="tetkino.mp4", duration=42.0,
                      content=ContentSpec(bytes=700_000, seed=1))
    doc = MediaSpec("document", file_name="приказ.pdf", mime_type="application/pdf",
                    content=ContentSpec(bytes=5000, seed=2))

    async def body():
        async with sim.running(watcher_and_downloader(), settings=sim.settings()) as (_, rt):
            await until(lambda: resolved(rt.db, "rybar"), timeout=300, step=1.0)
            posts = [w.post(legion, "Фото", media=photo), w.post(legion, "Видео", media=video),
                     w.post(legion, "Документ", media=doc),
                     # the same video file again, from another channel
                     w.post(rybar, "Репост видео", media=video)]
            await until(lambda: settled(rt.db, legion.id, 3), timeout=600, step=1.0)
            await until(lambda: settled(rt.db, rybar.id, 1), timeout=600, step=1.0)
            got = await items(rt.db, legion.id)
            again = await items(rt.db, rybar.id)
            files = await rt.db.fetchall("SELECT * FROM media_files ORDER BY path")
        return posts, got, again, files, rt.settings.media_path

    posts, got, again, files, root = sim.run(body)
    p_photo, p_video, p_doc, p_repost = posts
    expected = {p.id: sim_bytes(sim, p) for p in (p_photo, p_video, p_doc)}
    for mid, data in expected.items():
        row = got[mid]
        assert row["status"] == "done", (mid, row["last_error"])
        sha = hashlib.sha256(data).hexdigest()
        assert row["sha256"] == sha
        stored = next(f for f in files if f["sha256"] == sha)
        assert stored["path"].startswith(f"{sha[:2]}/{sha[2:4]}/{sha}")
        assert (root / stored["path"]).read_bytes() == data
    assert got[p_video.id]["kind"] == "video" and files and root.name == "tgmon-media"
    assert next(f for f in files if f["sha256"] == got[p_video.id]["sha256"])["path"] \
        .endswith(".mp4")
    assert next(f for f in files if f["sha256"] == got[p_doc.id]["sha256"])["path"] \
        .endswith(".pdf")
    photo_file = next(f for f in files if f["sha256"] == got[p_photo.id]["sha256"])
    assert photo_file["phash"] and len(photo_file["phash"]) == 16
    # the repost is the same content: one file, two items
    assert again[p_repost.id]["sha256"] == got[p_video.id]["sha256"]
    assert len(files) == 3
    # the partial files are gone
    assert list((root / ".partial").iterdir()) == []


def test_settings_skip_kinds_and_refuse_files_over_the_cap(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    settings = sim.settings(media=("photo",), media_max_size=100_000)

    async def body():
        async with sim.running(watcher_and_downloader(), settings=settings) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            small = w.post(legion, "a", media=MediaSpec("photo", width=320, height=240,
                                                       content=ContentSpec(seed=1)))
            big = w.post(legion, "b", media=MediaSpec("photo", size=300_000, width=2000,
                                                     height=1500))
            video = w.post(legion, "c", media=MediaSpec(
                "video", content=ContentSpec(bytes=1000, seed=3)))
            await until(lambda: settled(rt.db, legion.id, 3), timeout=600, step=1.0)
            return small, big, video, await items(rt.db, legion.id)

    small, big, video, got = sim.run(body)
    assert got[small.id]["status"] == "done"
    assert got[big.id]["status"] == "too_large"
    assert "TGMON_MEDIA_MAX_SIZE" in got[big.id]["last_error"]
    assert got[video.id]["status"] == "skipped"
    assert "TGMON_MEDIA" in got[video.id]["last_error"]
    assert big.file.served == 0 and video.file.served == 0      # never asked for


def test_flood_waits_and_disconnects_mid_file_resume_from_the_last_part(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    video = MediaSpec("video", content=ContentSpec(bytes=20 * PART + 123, seed=9))

    async def body():
        async with sim.running(watcher_and_downloader(), settings=sim.settings()) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.latency = 0.05
            post = w.post(legion, "Видео", media=video)
            await until(lambda: post.file.served >= 5 * PART, timeout=300, step=0.01)
            w.flood_wait("upload.getFile", 120)
            flood_from = w.now()
            flooded_at = post.file.served
            await until(lambda: post.file.served > flooded_at + 3 * PART, timeout=600,
                        step=0.01)
            w.disconnect(30, role="user")
            await until(lambda: settled(rt.db, legion.id, 1), timeout=900, step=1.0)
            return post, await items(rt.db, legion.id), flood_from

    post, got, flood_from = sim.run(body)
    data = sim_bytes(sim, post)
    flooded = [r for r in w.requests if r.at >= flood_from
               and type(r.request).__name__ == "GetFileRequest"]
    # a request met the flood wait, and nothing was asked again before it was over
    gaps = [(b.at - a.at).total_seconds() for a, b in pairwise(flooded)]
    assert max(gaps) >= 119
    assert got[post.id]["status"] == "done"
    assert got[post.id]["sha256"] == hashlib.sha256(data).hexdigest()
    # every part was fetched once: nothing started again from byte 0
    offsets = [r.offset for r in w.requests_of("upload.getFile")]
    assert offsets.count(0) == 1
    assert post.file.served == len(data)


def test_an_expired_reference_is_refreshed_by_reading_the_post_again(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    doc = MediaSpec("document", file_name="a.bin", content=ContentSpec(bytes=12 * PART,
                                                                       seed=4))

    async def body():
        async with sim.running(watcher_and_downloader(), settings=sim.settings()) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.latency = 0.05
            post = w.post(legion, "Файл", media=doc)
            await until(lambda: post.file.served >= 3 * PART, timeout=300, step=0.01)
            w.expire_file_references(legion, post.id)
            await until(lambda: settled(rt.db, legion.id, 1), timeout=600, step=1.0)
            return post, await items(rt.db, legion.id)

    post, got = sim.run(body)
    assert got[post.id]["status"] == "done"
    assert got[post.id]["sha256"] == hashlib.sha256(sim_bytes(sim, post)).hexdigest()
    assert w.requests_of("channels.getMessages")            # the post was read again
    assert [r.offset for r in w.requests_of("upload.getFile")].count(0) == 1


def test_a_post_deleted_before_its_download_is_missed_and_one_after_keeps_its_file(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    big = MediaSpec("video", content=ContentSpec(bytes=40 * PART, seed=5))
    small = MediaSpec("photo", width=640, height=480, content=ContentSpec(seed=5))

    async def body():
        async with sim.running(watcher_and_downloader(), settings=sim.settings()) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.latency = 0.05
            kept = w.post(legion, "Фото", media=small)
            await until(lambda: settled(rt.db, legion.id, 1), timeout=300, step=1.0)
            w.delete(legion, [kept.id])                 # after its download
            gone = w.post(legion, "Видео", media=big)
            await until(lambda: gone.file.served >= 2 * PART, timeout=300, step=0.01)
            w.delete(legion, [gone.id])                 # before its download ended
            await until(lambda: settled(rt.db, legion.id, 2), timeout=600, step=1.0)
            files = await rt.db.fetchall("SELECT * FROM media_files")
            return kept, gone, await items(rt.db, legion.id), files, rt.settings.media_path

    kept, gone, got, files, root = sim.run(body)
    assert got[kept.id]["status"] == "done"
    assert (root / files[0]["path"]).is_file() and len(files) == 1
    assert got[gone.id]["status"] == "missed"
    assert got[gone.id]["last_error"] == "the post was deleted before its file was fetched"
    assert not (root / ".partial" / f"{got[gone.id]['id']}.part").exists()


def test_a_restart_mid_download_resumes_from_the_partial_file(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    video = MediaSpec("video", content=ContentSpec(bytes=30 * PART + 7, seed=11))

    async def body():
        settings = sim.settings()
        async with sim.running(watcher_and_downloader(), settings=settings) as (_, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.latency = 0.05
            post = w.post(legion, "Видео", media=video)
            await until(lambda: post.file.served >= 10 * PART, timeout=300, step=0.01)
        before = post.file.served
        async with sim.running(watcher_and_downloader(), settings=settings) as (_, rt):
            await until(lambda: settled(rt.db, legion.id, 1), timeout=600, step=1.0)
            return post, before, await items(rt.db, legion.id)

    post, before, got = sim.run(body)
    data = sim_bytes(sim, post)
    assert got[post.id]["status"] == "done"
    assert got[post.id]["sha256"] == hashlib.sha256(data).hexdigest()
    offsets = [r.offset for r in w.requests_of("upload.getFile")]
    assert offsets.count(0) == 1                        # resumed, not started again
    assert post.file.served - len(data) <= before % PART + PART    # at most a part again


async def test_queue_keys_and_reference_refresh(db, t0):
    from storage.models import Channel, FileRef, Media, Post
    from storage.posts import save_posts

    ref = FileRef("photo", 42, 7, b"old", 2, "y")
    post = Post(1, 5, t0, "x", media=Media("photo", size=10, file=ref))
    await save_posts(db, [post], media_capture_path(), t0, Channel(1, "c", "C"))
    fresh = FileRef("photo", 42, 7, b"new", 2, "y")
    again = Post(1, 5, t0, "x", media=Media("photo", size=10, file=fresh))
    await save_posts(db, [again], media_capture_path(), t0)
    rows = await db.fetchall("SELECT * FROM media_items")
    assert len(rows) == 1 and bytes(rows[0]["file_reference"]) == b"new"
    item = await media.get_item(db, rows[0]["id"])
    assert item is not None and item.file == fresh and item.version == 1


def media_capture_path():
    from storage.models import CapturePath
    return CapturePath.LIVE
