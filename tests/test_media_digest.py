"""The digest groups the same photo posted by several channels: the picture re-posted
smaller and more compressed by another channel is one story, listed once with every
channel that posted it; a channel posting its own picture twice and different pictures
are not."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.build import build_digest
from bot.digest.render_telegram import render_telegram
from bot.digest.render_text import render_text
from bot.sim.files import picture
from storage import media
from storage.digest_queries import Period, gather_material
from storage.mediastore import MediaStore, photo_hash
from storage.models import CapturePath, Channel, FileRef, Media, Post
from storage.posts import save_posts

T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
DAY = Period(T0 - timedelta(hours=5), T0 + timedelta(hours=19))
LEGION = Channel(1001, "legionoffreedom", "Легион")
RYBAR = Channel(1002, "rybar", "Рыбарь")
MAJORS = Channel(1003, "dva_majors", "Два майора")


async def _photo_post(db, store: MediaStore, channel: Channel, mid: int, minutes: int,
                      seed: int, width: int = 1280, quality: int = 85) -> None:
    """A photo post whose picture (drawn from ``seed``) the downloader has stored."""
    data = picture(seed, width, width * 3 // 4, quality)
    post = Post(channel.channel_id, mid, T0 + timedelta(minutes=minutes), f"пост {mid}",
                media=Media("photo", size=len(data), file=FileRef("photo", seed * 100 + mid,
                                                                  1, b"r", 2, "y")))
    await save_posts(db, [post], CapturePath.LIVE, post.date, channel)
    [item] = await media.items_of_post(db, channel.channel_id, mid)
    temp = store.incoming("t")
    temp.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    rel = store.commit(temp, sha, ".jpg")
    await media.record_done(db, item.id, media.StoredFile(
        sha, len(data), rel, "image/jpeg", photo_hash(store.path(rel))), post.date)


async def test_the_digest_lists_the_same_photo_posted_by_several_channels(db, tmp_path):
    store = MediaStore(tmp_path / "media")
    store.ensure()
    await _photo_post(db, store, LEGION, 1, 0, seed=5)                  # the first
    await _photo_post(db, store, RYBAR, 7, 30, seed=5, width=640, quality=40)
    await _photo_post(db, store, MAJORS, 3, 90, seed=5, width=800, quality=60)
    await _photo_post(db, store, LEGION, 2, 10, seed=6)                 # once, alone
    await _photo_post(db, store, RYBAR, 8, 20, seed=7)                  # one channel, twice
    await _photo_post(db, store, RYBAR, 9, 25, seed=7, width=900)
    await save_posts(db, [Post(1003, 4, T0, "текст")], CapturePath.LIVE, T0, MAJORS)

    digest = build_digest(await gather_material(db, DAY))

    assert digest.same_photo_total == 1
    [story] = digest.same_photo
    assert [(p.channel.username, p.message_id) for p in story.posts] == \
        [("legionoffreedom", 1), ("rybar", 7), ("dva_majors", 3)]
    text = render_text(digest, ZoneInfo("Europe/Moscow"))
    section = text.split("== Same photo in several channels ==")[1].split("==")[0]
    assert "the same photo in 3 channels" in section
    assert "https://t.me/legionoffreedom/1" in section and "https://t.me/rybar/7" in section
    assert "https://t.me/dva_majors/3" in section and "rybar/8" not in section
    html = "".join(render_telegram(digest, ZoneInfo("Europe/Moscow")))
    assert "Same photo in several channels" in html and 'href="https://t.me/rybar/7"' in html

    # a digest of the Legion alone: nobody else posted its pictures
    alone = build_digest(await gather_material(db, DAY, [LEGION.channel_id]))
    assert alone.same_photo == () and "Same photo" not in render_text(alone, UTC)
