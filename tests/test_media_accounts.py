"""The media archive with several watching accounts (issues 12 and 14): a file's location
(its access hash and file reference) is valid for the account that read the post only,
so each file is fetched by that account; when the account is lost, the channel's new
holder reads the post again for a location of its own; when no account can read it,
the item says so. Against the simulated Telegram, which refuses another account's
location as Telegram does."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import default_components
from tests.storekit import read_rows

ADMIN = 700001
START = datetime(2024, 3, 12, 0, 0, tzinfo=UTC)


def read(db_path, sql, params=()):
    return read_rows(db_path, sql, params, row=dict)


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


# placed in turn on the account with the most room: main, second, main, second
WATCH = ["legionoffreedom", "russvolcorps", "wargonzo", "rybar"]


def a_day_with_a_ban_mid_file() -> dict:
    """second holds russvolcorps and rybar. Telegram makes second's downloads wait an
    hour in the middle of a large video of russvolcorps; a photo of rybar waits too, and
    rybar is unwatched; then second is banned. russvolcorps moves to main, which goes on
    with the video from the partial file; nobody can read rybar's photo any more."""
    def at_s(hours: float, seconds: float = 0) -> str:
        return (START + timedelta(hours=hours, seconds=seconds)).isoformat()
    events = [
        {"at": at(0.02), "message": {"from": ADMIN, "text": "/start"}},
        {"at": at(11), "post": {"channel": "russvolcorps", "id": 101, "text": "Видео",
                                "media": {"kind": "video", "file_name": "бой.mp4",
                                          "bytes": 6 << 20, "seed": 22}}},
        {"at": at_s(11, 1), "fault": {"kind": "flood_wait", "method": "upload.getFile",
                                      "seconds": 3600, "account": "second"}},
        {"at": at(11.1), "post": photo_post("rybar", 101, 21, "Фото, потом отписка")},
        {"at": at(11.2), "message": {"from": ADMIN, "text": "/unwatch rybar"}},
        {"at": at(11.5), "fault": {"kind": "account_banned", "account": "second"}},
    ]
    channels = [{"id": 1_900_000_001 + i, "username": name, "title": name.upper(),
                 "joined": False}
                for i, name in enumerate(WATCH)]
    return {"start": START.isoformat(), "end": (START + timedelta(hours=16)).isoformat(),
            "accounts": ["main", "second"], "limits": {"latency": 0.2},
            "settings": {"admins": [ADMIN], "join_limit": 2, "watch": WATCH},
            "channels": channels, "users": [{"id": ADMIN, "first_name": "Desk"}],
            "events": events}


def test_a_ban_mid_file_resumes_with_the_new_holder_and_an_unreadable_file_says_why(sim):
    report = sim.play(a_day_with_a_ban_mid_file(), components=default_components)
    world, s = report.world, report.settings
    assert report.ended is None and not world.failures
    main, second = world.account("user", "main"), world.account("user", "second")
    rdk, rybar = world.channel("russvolcorps"), world.channel("rybar")
    items = read(s.db_path, "SELECT m.*, f.path FROM media_items m "
                            "LEFT JOIN media_files f USING (sha256) ORDER BY m.id")
    got = {i["channel_id"]: i for i in items}
    held = read(s.db_path, "SELECT username, account, removed_at FROM watched")
    assert {h["username"]: h["account"] for h in held if h["removed_at"] is None} == {
        "legionoffreedom": "main", "russvolcorps": "main", "wargonzo": "main"}
    assert {h["username"]: h["account"] for h in held if h["removed_at"]} == {
        "rybar": "second"}

    # the video: second had fetched part of it; main read the post again and went on
    # from the partial file, never from byte 0
    video = rdk.posts[101].file
    asked = file_requests(world, video.id)
    by_second = [r.request.offset for r in asked if r.account_id == second.id]
    by_main = [r.request.offset for r in asked if r.account_id == main.id]
    assert by_second and by_main and 0 in by_second and min(by_main) > 0
    assert [r.request.offset for r in asked].count(0) == 1
    data = video.read(0, video.size)
    assert got[rdk.id]["status"] == "done"
    assert got[rdk.id]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (s.media_path / got[rdk.id]["path"]).read_bytes() == data

    # rybar: no longer watched, its account lost, main never looked it up
    item = got[rybar.id]
    assert item["status"] == "failed" and item["sha256"] is None
    assert item["last_error"] == ("no watching account can read the channel: its account "
                                  "second was lost, and the channel is no longer watched")
    assert not file_requests(world, rybar.posts[101].file.id)


# ---- who fetches a file (pure) ----

def test_source_the_reading_account_while_it_runs_else_the_holder_reading_again():
    from bot.media.policy import Source, source

    hashes = {"main": 11, "second": 22}
    running = ["main", "second"]
    # the account that read the post, even when the channel is held by another now
    assert source("second", "second", True, running, hashes) == Source("second", 22)
    assert source("second", "main", True, running, hashes) == Source("second", 22)
    # not known: the holder's location
    assert source(None, "second", True, running, hashes) == Source("second", 22)
    # the reader was lost and the channel moved: the holder reads the post again
    assert source("second", "main", True, ["main"], hashes) == Source("main", 11, reread=True)
    # the reader has no hash of the channel (never looked it up): the holder reads again
    assert source("third", "main", True, ["main", "third"], hashes) == \
        Source("main", 11, reread=True)


def test_source_waits_for_a_move_or_a_look_up_and_fails_only_when_nobody_can_read():
    from bot.media.policy import source

    # a live channel whose holder was lost: it moves within a reconcile interval
    lost = source("second", "second", True, ["main"], {"main": 11, "second": 22})
    assert lost.account is None and lost.fail is None
    assert lost.wait is not None and "second was lost" in lost.wait
    # moved, and the new holder has not looked it up yet
    early = source("second", "main", True, ["main"], {"second": 22})
    assert early.wait == "the channel's account main has not looked it up yet"
    assert source(None, None, True, ["main"], {}).wait == \
        "no watching account holds the channel yet"
    assert source("main", "main", True, [], {"main": 11}).wait == \
        "no watching account is running"
    # no longer watched: any running account that looked it up reads it again
    assert source("second", "second", False, ["main"], {"main": 11, "second": 22}) \
        .account == "main"
    gone = source("second", "second", False, ["main"], {"second": 22})
    assert gone.account is None and gone.wait is None
    assert gone.fail == ("no watching account can read the channel: its account second "
                         "was lost, and the channel is no longer watched")
    assert source(None, None, False, ["main"], {}).fail == (
        "no watching account can read the channel: no running account has looked it up, "
        "and the channel is no longer watched")


# ---- what the queue keeps ----

async def test_the_queue_keeps_whose_location_each_file_has(db, t0):
    from storage import media
    from storage.channels import save_channel
    from storage.models import CapturePath, Channel, FileRef, Media, Post
    from storage.posts import save_posts, store_posts
    from storage.watchlist import add_entry, remove_entry, save_access, set_holder, set_resolved

    channel = Channel(1, "rdk", "RDK")
    await save_channel(db, channel, t0)
    seconds = FileRef("photo", 42, 7, b"second's", 2, "y")
    post = Post(1, 5, t0, "x", media=Media("photo", size=10, file=seconds))
    async with db.transaction() as conn:
        await store_posts(conn, [post], CapturePath.LIVE, t0, account="second")
    [item] = await media.items_of_post(db, 1, 5)
    assert item.account == "second" and item.file == seconds
    # read again by main (its re-check): main's location, main's
    mains = FileRef("photo", 42, 8, b"main's", 2, "y")
    await save_posts(db, [Post(1, 5, t0, "x", media=Media("photo", size=10, file=mains))],
                     CapturePath.CATCH_UP, t0)
    [item] = await media.items_of_post(db, 1, 5)
    assert item.account is None and item.file == mains      # read by whom: not said
    await media.set_reference(db, item.id, seconds, "second")
    [item] = await media.items_of_post(db, 1, 5)
    assert item.account == "second" and item.file == seconds

    # who may read the channel again
    assert await media.channel_readers(db, 1) == media.ChannelReaders(None, False, {})
    entry = await add_entry(db, "rdk", None, 1, t0)
    await set_resolved(db, entry.id, 1, 222, t0, "second")
    await save_access(db, "main", 1, 111, t0)
    readers = await media.channel_readers(db, 1)
    assert readers == media.ChannelReaders("second", True, {"second": 222, "main": 111})
    await set_holder(db, entry.id, "main", "polled")
    assert (await media.channel_readers(db, 1)).holder == "main"
    await remove_entry(db, entry.id, t0)
    assert await media.channel_readers(db, 1) == \
        media.ChannelReaders("main", False, {"second": 222, "main": 111})
