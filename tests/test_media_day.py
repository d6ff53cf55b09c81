"""A simulated day of the media archive, through the whole app (watcher, downloader,
alerts, sender): photos, videos and documents in three channels; a flood wait and a
disconnect mid-file; an expired file reference; a post deleted before its download and
one after; a file over the cap; the same video posted twice and the same photo re-posted
smaller; and a restart mid-download. At the end every file that could be fetched is
stored once with the right hash, nothing was fetched twice from byte 0, ``tgmon media
verify`` is clean, and the export and its evidence package are correct."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import timedelta
from itertools import pairwise

import pytest
from alertkit import ANNA, alerts, people, settings
from capturekit import resolved, until
from clikit import cli
from simkit import T0

from bot.app import default_components
from bot.media.downloader import MediaDownloader
from bot.sim.model import ContentSpec, MediaSpec
from bot.sim.vclock import sleep_until

PART = 64 * 1024


def components():
    """tgmon's components, the downloader with small parts (several per file)."""
    return [MediaDownloader(part=PART) if isinstance(c, MediaDownloader) else c
            for c in default_components()]


def video(n_bytes, seed, name="video.mp4"):
    return MediaSpec("video", file_name=name, mime_type="video/mp4",
                     content=ContentSpec(bytes=n_bytes, seed=seed))


def document(n_bytes, seed, name):
    return MediaSpec("document", file_name=name, mime_type="application/pdf",
                     content=ContentSpec(bytes=n_bytes, seed=seed))


def photo(seed, width=1280, quality=85):
    return MediaSpec("photo", width=width, height=width * 3 // 4,
                     content=ContentSpec(seed=seed, quality=quality))


async def items(db):
    rows = await db.fetchall("SELECT * FROM media_items ORDER BY id")
    return {(r["channel_id"], r["message_id"]): r for r in rows}


async def settled(db, n):
    found = await items(db)
    return len(found) >= n and all(r["status"] != "pending" for r in found.values())


def test_a_day_of_media_ends_with_every_file_stored_once_and_verifiable(sim, capsys,
                                                                        tmp_path):
    w = sim.world
    _admin, anna, _ivan, _olga = people(sim)
    legion = w.add_channel("legionoffreedom", "Легион «Свобода России»")
    rdk = w.add_channel("russvolcorps", "Русский добровольческий корпус")
    gub = w.add_channel("gubernator_46", "Губернатор Курской области")
    s = settings(sim, media_max_size=3 << 20)
    posts = {}
    where = {}

    def put(name, channel, text, media):
        posts[name] = w.post(channel, text, media=media)
        where[name] = channel

    async def at(minutes):
        await sleep_until(T0 + timedelta(minutes=minutes))

    async def served(name, n_parts):
        await until(lambda: posts[name].file.served >= n_parts * PART, timeout=600,
                    step=0.01)

    async def body():
        async with sim.running(components, settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "gubernator_46"), timeout=300, step=1.0)
            await sim.ask(anna, "/subscribe legionoffreedom")
            w.latency = 0.05
            await at(10)
            put("photo", legion, "Колонна у Тёткино", photo(1))
            put("order", gub, "Постановление", document(150_000, 2, "приказ.pdf"))
            # a flood wait on upload.getFile in the middle of a video
            put("flooded", rdk, "Видео боя", video(1_500_000, 3))
            await served("flooded", 5)
            w.flood_wait("upload.getFile", 90, role="user")
            await at(30)
            # a lost connection in the middle of another
            put("cut", legion, "Видео с дрона", video(2_000_000, 4))
            await served("cut", 6)
            w.disconnect(40, role="user")
            await at(60)
            # a file reference that expires mid-file: read the post again, go on
            put("expired", gub, "Отчёт", document(1_200_000, 5, "отчёт.pdf"))
            await served("expired", 4)
            w.expire_file_references(gub, posts["expired"].id)
            await at(90)
            # deleted before its download ended: missed; deleted after: its file stays
            put("gone", rdk, "Удалённое видео", video(2_500_000, 6))
            await served("gone", 3)
            w.delete(rdk, [posts["gone"].id])
            put("kept", gub, "Фото, потом удалено", photo(7))
            await until(lambda: settled(rt.db, 6), timeout=900, step=1.0)
            w.delete(gub, [posts["kept"].id])
            # over the cap: recorded, never fetched
            put("huge", legion, "Полное видео", video(4_000_000, 8))
            # the same video again, and the first photo re-posted smaller
            put("again", rdk, "Репост видео", video(2_000_000, 4))
            put("resized", rdk, "Фото из сети", photo(1, 640, 50))
            await at(150)
            # a restart in the middle of a download
            put("restart", legion, "Длинное видео", video(2_800_000, 9))
            await served("restart", 10)
        before_restart = posts["restart"].file.served
        await at(200)
        async with sim.running(components, settings=s) as (_app, rt):
            await until(lambda: settled(rt.db, len(posts)), timeout=1800, step=1.0)
            found = await items(rt.db)
            files = await rt.db.fetchall("SELECT * FROM media_files")
            deleted = await rt.db.fetchall(
                "SELECT channel_id, message_id FROM posts WHERE deleted_at IS NOT NULL")
        return found, files, deleted, before_restart

    found, files, deleted, before_restart = sim.run(body)
    root = s.media_path

    expected_done = ["photo", "order", "flooded", "cut", "expired", "kept", "again",
                     "resized", "restart"]
    for name in expected_done:
        row = _by_post(found, where, posts, name)
        data = posts[name].file.read(0, posts[name].file.size)
        assert row["status"] == "done", (name, row["last_error"])
        assert row["sha256"] == hashlib.sha256(data).hexdigest(), name
    gone, huge = _by_post(found, where, posts, "gone"), _by_post(found, where, posts, "huge")
    assert gone["status"] == "missed"
    assert gone["last_error"] == "the post was deleted before its file was fetched"
    assert huge["status"] == "too_large" and posts["huge"].file.served == 0
    # stored once: the re-posted video is the same file; the resized photo is not the
    # same bytes (its own file) but the same picture (perceptual hashes close)
    assert _by_post(found, where, posts, "again")["sha256"] == \
        _by_post(found, where, posts, "cut")["sha256"]
    shas = {_by_post(found, where, posts, n)["sha256"] for n in expected_done}
    assert len(files) == len(shas) == len(expected_done) - 1
    for f in files:
        assert (root / f["path"]).read_bytes() and f["path"].startswith(
            f"{f['sha256'][:2]}/{f['sha256'][2:4]}/{f['sha256']}")
    assert list((root / ".partial").iterdir()) == []
    # the post deleted after its download keeps its file
    assert (gub.id, posts["kept"].id) in {tuple(r) for r in deleted}
    # nothing was fetched twice from byte 0, the restart resumed where it was
    starts: dict[int, int] = {}
    for r in w.requests_of("upload.getFile"):
        if r.offset == 0:
            starts[r.location.id] = starts.get(r.location.id, 0) + 1
    assert set(starts.values()) == {1}

    def fetches(name):
        return [r for r in w.requests if type(r.request).__name__ == "GetFileRequest"
                and r.request.location.id == posts[name].file.id]

    def longest_pause(name):
        times = [r.at for r in fetches(name)]
        return max((b - a).total_seconds() for a, b in pairwise(times))

    assert longest_pause("flooded") >= 89            # the flood wait was waited out
    assert longest_pause("cut") >= 30                # the lost connection
    # the expired reference was refreshed: the file was asked for with a second one
    assert len({bytes(r.request.location.file_reference) for r in fetches("expired")}) >= 2
    assert posts["restart"].file.served - posts["restart"].file.size <= PART
    assert before_restart >= 10 * PART
    # Anna's alert of the Legion's photo went with the photo
    first = alerts(sim, ANNA)[0]
    assert "Колонна у Тёткино" in first.text and first.file is not None

    # the archive verifies, and the export and its evidence package are right
    db = str(s.db_path)
    code, out, err = cli(capsys, "media", "verify", "--db", db)
    assert code == 0, out + err
    assert f"{len(files)} files checked" in out and "all match their SHA-256" in out
    package = tmp_path / "evidence"
    code, out, err = cli(capsys, "export", "--db", db, "--format", "jsonl",
                         "--include-deleted", "--with-media", str(package))
    assert code == 0, err
    rows = {(r["channel"], r["message_id"]): r for r in map(json.loads, out.splitlines())}
    for name in expected_done:
        p = posts[name]
        row = rows[(where[name].username, p.id)]
        assert row["media_status"] == "done"
        assert row["media_sha256"] == _by_post(found, where, posts, name)["sha256"]
        assert (package / row["media_path"]).read_bytes() == p.file.read(0, p.file.size)
    assert rows[("russvolcorps", posts["gone"].id)]["media_status"] == "missed"
    assert rows[("legionoffreedom", posts["huge"].id)]["media_path"] in ("", None)
    manifest = (package / "SHA256SUMS").read_text().splitlines()
    assert len(manifest) == len(files)
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=package,
                             capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.count(": OK") == len(files)


def _by_post(found, where, posts, name):
    return found[(where[name].id, posts[name].id)]
