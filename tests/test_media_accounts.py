"""The media archive with several watching accounts (issues 12 and 14): a file's location
(its access hash and file reference) is valid for the account that read the post only,
so each file is fetched by that account; when the account is lost, the channel's new
holder reads the post again for a location of its own; when no account can read it,
the item says so. Against the simulated Telegram, which refuses another account's
location as Telegram does."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import default_components
from storage.db import open_database

ADMIN = 700001
START = datetime(2024, 3, 12, 0, 0, tzinfo=UTC)


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def photo_post(channel: str, mid: int, seed: int, text: str) -> dict:
    return {"channel": channel, "id": mid, "text": text,
            "media": {"kind": "photo", "width": 1280, "height": 960, "seed": seed}}


def a_day_with_a_ban(**settings) -> dict:
    """Two accounts that may join one channel each: legionoffreedom goes to main,
    russvolcorps to second. second's photos download with second; then Telegram makes
    second's downloads wait an hour, a photo is posted (pending), and second is banned:
    the channel moves to main, which fetches the pending photo and the later ones."""
    events = [
        {"at": at(0.02), "message": {"from": ADMIN, "text": "/start"}},
        {"at": at(0.03), "message": {"from": ADMIN, "text": "/subscribe russvolcorps"}},
        {"at": at(8), "post": photo_post("russvolcorps", 101, 11, "Колонна у Тёткино")},
        {"at": at(8.1), "post": photo_post("legionoffreedom", 101, 12, "Заявление")},
        {"at": at(11.8), "fault": {"kind": "flood_wait", "method": "upload.getFile",
                                   "seconds": 3600, "account": "second"}},
        {"at": at(11.9), "post": photo_post("russvolcorps", 102, 13, "Фото с дрона")},
        {"at": at(12), "fault": {"kind": "account_banned", "account": "second"}},
        {"at": at(14), "post": photo_post("russvolcorps", 103, 14, "После бана")},
        {"at": at(15), "post": photo_post("legionoffreedom", 102, 15, "Вечер")},
    ]
    channels = [{"id": 1_900_000_001 + i, "username": name, "title": name.upper(),
                 "joined": False}
                for i, name in enumerate(("legionoffreedom", "russvolcorps"))]
    return {"start": START.isoformat(), "end": (START + timedelta(hours=20)).isoformat(),
            "accounts": ["main", "second"],
            "settings": {"admins": [ADMIN], "join_limit": 1, **settings},
            "channels": channels, "users": [{"id": ADMIN, "first_name": "Desk"}],
            "events": events}


def read(db_path, sql, params=()):
    async def go():
        db = await open_database(db_path)
        try:
            return [dict(r) for r in await db.fetchall(sql, params)]
        finally:
            await db.close()
    return asyncio.run(go())


def file_requests(world, file_id: int) -> list:
    return [r for r in world.requests if type(r.request).__name__ == "GetFileRequest"
            and r.request.location.id == file_id]


@pytest.mark.parametrize("recheck_window", [None, "1m"], ids=["rechecked", "not-rechecked"])
def test_each_file_is_fetched_by_its_account_and_a_banned_accounts_by_the_new_holder(
        sim, recheck_window):
    """With the default re-check, the new holder's re-check of the moved channel reads
    the pending photo's post again (its location becomes main's) before the download is
    tried; with a re-check window too short for it, the downloader reads the post again
    itself, with main, when second's location no longer works."""
    extra = {} if recheck_window is None else {"recheck_window": recheck_window}
    report = sim.play(a_day_with_a_ban(**extra), components=default_components)
    world, s = report.world, report.settings
    assert report.ended is None and not world.failures
    main, second = world.account("user", "main"), world.account("user", "second")
    rdk, legion = world.channel("russvolcorps"), world.channel("legionoffreedom")

    held = read(s.db_path, "SELECT w.username, w.account FROM watched w "
                           "WHERE removed_at IS NULL")
    assert {h["username"]: h["account"] for h in held} == {
        "legionoffreedom": "main", "russvolcorps": "main"}          # moved after the ban
    moves = read(s.db_path, "SELECT from_account, to_account FROM channel_moves")
    assert [(m["from_account"], m["to_account"]) for m in moves] == [("second", "main")]

    # every photo stored, once, with the bytes Telegram served and their SHA-256
    items = read(s.db_path, "SELECT m.*, f.path FROM media_items m "
                            "LEFT JOIN media_files f USING (sha256) ORDER BY m.id")
    got = {(i["channel_id"], i["message_id"]): i for i in items}
    posts = {(ch.id, mid): ch.posts[mid] for ch, mid in
             ((rdk, 101), (rdk, 102), (rdk, 103), (legion, 101), (legion, 102))}
    assert set(got) == set(posts)
    for key, post in posts.items():
        item, data = got[key], post.file.read(0, post.file.size)
        assert item["status"] == "done", (key, item["last_error"])
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert (s.media_path / item["path"]).read_bytes() == data
    files = read(s.db_path, "SELECT sha256 FROM media_files")
    assert len(files) == 5

    # russvolcorps 101 went through second, the account that read it
    first = file_requests(world, posts[(rdk.id, 101)].file.id)
    assert first and {r.account_id for r in first} == {second.id}
    # the pending photo: second met the flood wait; after the ban main read the post
    # again (its own location) and fetched it; nothing went through main with second's
    pending = posts[(rdk.id, 102)].file
    asked = file_requests(world, pending.id)
    by_main = [r for r in asked if r.account_id == main.id]
    assert any(r.account_id == second.id for r in asked) and by_main
    assert all(r.at > START + timedelta(hours=12) for r in by_main)
    assert {r.request.location.access_hash for r in by_main} == {pending.access_hash_for(main.id)}
    before = world.requests[:world.requests.index(by_main[0])]
    rereads = [[i.id for i in r.request.id] for r in before
               if type(r.request).__name__ == "GetMessagesRequest"
               and r.account_id == main.id and getattr(r.request, "channel", None) is not None
               and r.request.channel.channel_id == rdk.id]
    assert any(102 in ids for ids in rereads)
    # the downloader's own read of the post (that id alone) only when no re-check did it
    assert ([102] in rereads) == (recheck_window is not None)
    assert got[(rdk.id, 102)]["account"] == "main"
    # after the move main captures and fetches russvolcorps itself
    later = file_requests(world, posts[(rdk.id, 103)].file.id)
    assert later and {r.account_id for r in later} == {main.id}
    assert {r.account_id for r in file_requests(world, posts[(legion.id, 101)].file.id)} \
        == {main.id}

    # the alert of second's photo post went with the photo
    alert = next(m for m in world.sent_by_bot(ADMIN) if "Колонна у Тёткино" in m.text)
    assert alert.file is not None and alert.file["size"] == posts[(rdk.id, 101)].file.size
