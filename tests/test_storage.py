"""The log keeps every version, never deletes, and re-storing changes nothing."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta

import pytest
from storekit import get_post, get_versions

from storage.channels import channel_names, find_channel, save_channel
from storage.db import DatabaseError, migrations, open_database
from storage.models import CapturePath, Channel, Entity, Media, Post
from storage.posts import mark_deleted, save_posts

LEGION = Channel(1001, "legionoffreedom", "Легион «Свобода России»")


def post(mid: int, text: str, t0, **kw) -> Post:
    return Post(channel_id=LEGION.channel_id, message_id=mid, date=t0, text=text, **kw)


async def count(db, sql):
    row = await db.fetchone(sql)
    return row[0]


async def test_database_file_is_owner_only_and_versioned(tmp_path):
    path = tmp_path / "sub" / "tgmon.db"
    db = await open_database(path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert await count(db, "PRAGMA user_version") == len(migrations())
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert await count(db, "PRAGMA foreign_keys") == 1
    finally:
        await db.close()


async def test_reopening_migrates_nothing_twice(tmp_path):
    path = tmp_path / "tgmon.db"
    await (await open_database(path)).close()
    db = await open_database(path)
    try:
        assert await count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'posts'") == 1
    finally:
        await db.close()


async def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="no database at"):
        await open_database(tmp_path / "none.db", must_exist=True)


async def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="is not an SQLite database"):
        await open_database(path)


async def test_same_post_twice_changes_nothing(db, t0):
    p = post(1, "Легион вошёл в Тёткино", t0, views=10)
    first = await save_posts(db, [p], CapturePath.LIVE, t0, channel=LEGION)
    again = await save_posts(db, [p], CapturePath.CATCH_UP, t0 + timedelta(minutes=5))
    assert (first.new, first.edited) == (1, 0)
    assert (again.new, again.edited) == (0, 0)
    assert await count(db, "SELECT count(*) FROM posts") == 1
    assert await count(db, "SELECT count(*) FROM post_versions") == 1
    stored = await get_post(db, LEGION.channel_id, 1)
    assert stored is not None
    assert stored.captured_via == CapturePath.LIVE          # first capture path is kept
    assert stored.last_seen == t0 + timedelta(minutes=5)


async def test_edit_adds_a_version_and_keeps_the_old_text(db, t0):
    await save_posts(db, [post(1, "Тёткино: бой", t0)], CapturePath.LIVE, t0, channel=LEGION)
    edited = post(1, "Тёткино: бой продолжается", t0, edit_date=t0 + timedelta(minutes=3),
                  views=50)
    res = await save_posts(db, [edited], CapturePath.LIVE, t0 + timedelta(minutes=3))
    assert res.edited == 1
    versions = await get_versions(db, LEGION.channel_id, 1)
    assert [v.text for v in versions] == ["Тёткино: бой", "Тёткино: бой продолжается"]
    assert versions[1].seen_at == t0 + timedelta(minutes=3)
    stored = await get_post(db, LEGION.channel_id, 1)
    assert stored and stored.version == 2 and stored.post.views == 50


async def test_stale_copy_does_not_roll_back_an_edit(db, t0):
    await save_posts(db, [post(1, "old", t0)], CapturePath.LIVE, t0, channel=LEGION)
    await save_posts(db, [post(1, "new", t0, edit_date=t0 + timedelta(minutes=1))],
                     CapturePath.LIVE, t0 + timedelta(minutes=1))
    res = await save_posts(db, [post(1, "old", t0, views=99)], CapturePath.CATCH_UP,
                           t0 + timedelta(minutes=2))
    assert res.edited == 0
    stored = await get_post(db, LEGION.channel_id, 1)
    assert stored and stored.post.text == "new" and stored.post.views == 99


async def test_media_change_is_a_version_views_change_is_not(db, t0):
    await save_posts(db, [post(1, "", t0, media=Media("photo", size=100))], CapturePath.LIVE,
                     t0, channel=LEGION)
    res = await save_posts(db, [post(1, "", t0, media=Media("photo", size=100), views=5)],
                           CapturePath.LIVE, t0)
    assert res.edited == 0
    res = await save_posts(db, [post(1, "", t0, media=Media("video", size=900),
                                     edit_date=t0 + timedelta(seconds=30))],
                           CapturePath.LIVE, t0 + timedelta(seconds=30))
    assert res.edited == 1
    assert [v.media.kind for v in await get_versions(db, LEGION.channel_id, 1) if v.media] == \
        ["photo", "video"]


async def test_deletion_is_a_tombstone_never_a_delete(db, t0):
    await save_posts(db, [post(1, "a", t0), post(2, "b", t0)], CapturePath.LIVE, t0,
                     channel=LEGION)
    async with db.transaction() as conn:
        res = await mark_deleted(conn, LEGION.channel_id, [2, 3], t0 + timedelta(hours=1))
    assert res.deleted == 1
    stored = await get_post(db, LEGION.channel_id, 2)
    assert stored and stored.deleted_at == t0 + timedelta(hours=1) and stored.post.text == "b"
    # id 3 was never seen: it is an explained hole, not a post.
    assert await count(db, "SELECT count(*) FROM absent_messages WHERE message_id = 3") == 1
    async with db.transaction() as conn:
        again = await mark_deleted(conn, LEGION.channel_id, [2], t0 + timedelta(hours=2))
    assert again.deleted == 0
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        await db.execute("DELETE FROM posts")
    with pytest.raises(sqlite3.IntegrityError, match="never changed"):
        await db.execute("UPDATE post_versions SET text = 'x'")
    assert await count(db, "SELECT count(*) FROM posts") == 2


async def test_failed_transaction_leaves_nothing(db, t0):
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channels (channel_id, first_seen, updated_at) VALUES (5, 'x', 'x')")
            raise RuntimeError("boom")
    assert await count(db, "SELECT count(*) FROM channels") == 0


async def test_full_text_search_folds_case_and_yo(db, t0):
    await save_posts(db, [post(1, "Бойцы вошли в ТЁТКИНО", t0), post(2, "Курская область", t0)],
                     CapturePath.LIVE, t0, channel=LEGION)

    async def search(q):
        rows = await db.fetchall(
            "SELECT p.message_id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid "
            "WHERE posts_fts MATCH ? ORDER BY p.message_id", (q,))
        return [r[0] for r in rows]

    assert await search("теткино") == [1]
    assert await search("курская") == [2]
    # an edit re-indexes the new text and drops the old
    await save_posts(db, [post(1, "Бойцы вышли", t0, edit_date=t0 + timedelta(minutes=1))],
                     CapturePath.LIVE, t0 + timedelta(minutes=1))
    assert await search("теткино") == []
    assert await search("вышли") == [1]


async def test_entities_round_trip(db, t0):
    ent = (Entity("bold", 0, 5), Entity("text_link", 6, 4, url="https://t.me/x"))
    await save_posts(db, [post(1, "Важно: ссылка", t0, entities=ent)], CapturePath.LIVE, t0,
                     channel=LEGION)
    stored = await get_post(db, LEGION.channel_id, 1)
    assert stored and stored.post.entities == ent


async def test_channel_renames_are_kept(db, t0):
    await save_channel(db, LEGION, t0)
    await save_channel(db, Channel(LEGION.channel_id, None, None), t0 + timedelta(hours=1))
    await save_channel(db, Channel(LEGION.channel_id, "legion_new", LEGION.title),
                       t0 + timedelta(days=1))
    names = await channel_names(db, LEGION.channel_id)
    assert [n[0] for n in names] == ["legionoffreedom", "legion_new"]
    found = await find_channel(db, "@Legion_New")
    assert found and found.channel_id == LEGION.channel_id
    assert (await find_channel(db, str(LEGION.channel_id))) == found
