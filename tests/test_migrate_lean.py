"""Migrating a log written by the schema before 0011 (main's before and after issue 16):
nothing is lost, each text is then stored once, the search index holds the normalised
texts, and the log goes on as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from oldlog import OLD_SCHEMAS, version_rows, write_old_log
from storekit import get_versions

from storage.db import open_database
from storage.models import CapturePath, Entity, Post
from storage.posts import save_posts
from tests.test_storage_fts_batch import index_is_consistent


async def search(db, word: str) -> list[tuple[int, int]]:
    rows = await db.fetchall(
        "SELECT p.channel_id, p.message_id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid"
        " WHERE posts_fts MATCH ? ORDER BY 1, 2", (f'"{word}"',))
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("schema", OLD_SCHEMAS)
async def test_migration_keeps_every_version(tmp_path, t0, schema):
    path = tmp_path / "old.db"
    conn = write_old_log(path, t0, schema=schema)
    before = version_rows(conn)
    history = conn.execute("SELECT * FROM post_history ORDER BY 2, 3, 4").fetchall()
    texts = conn.execute("SELECT count(*), sum(version > 1) FROM posts").fetchone()
    # What the post does not hold: earlier versions, and current ones restyled since.
    kept = conn.execute(
        "SELECT count(*) FROM post_versions v JOIN posts p ON p.id = v.post_id "
        "WHERE v.version < p.version OR v.entities IS NOT p.entities "
        "OR v.edit_date IS NOT p.edit_date").fetchone()[0]
    conn.close()
    assert len(before) > texts[0] and texts[1] > 10     # edits happened
    latest = [r for r, nxt in zip(before, [*before[1:], None], strict=True)
              if nxt is None or nxt[:2] != r[:2]]

    db = await open_database(path)
    try:
        after = [tuple(r) for r in await db.fetchall(
            "SELECT p.channel_id, p.message_id, v.version, v.text, v.entities, v.media_kind, "
            "v.media_file_name, v.media_size, v.media_mime_type, v.edit_date, v.seen_at "
            "FROM post_versions v JOIN posts p ON p.id = v.post_id "
            "ORDER BY p.channel_id, p.message_id, v.version")]
        assert after == before
        assert [tuple(r) for r in await db.fetchall(
            "SELECT * FROM post_history ORDER BY 2, 3, 4")] == history
        # Each text once: only versions the post does not hold are stored rows.
        stored = (await db.fetchone("SELECT count(*) FROM stored_versions"))[0]
        assert stored == kept < len(before) - texts[0] + texts[0] // 4
        one = before[0]
        assert [(v.version, v.text) for v in await get_versions(db, one[0], one[1])] == [
            (r[2], r[3]) for r in before if r[:2] == one[:2]]
        # The search index holds every latest text normalised (disguised words as the
        # plain ones), and an edit through the new trigger keeps it so.
        assert await index_is_consistent(db)
        disguised = sorted({(r[0], r[1]) for r in latest if "Шебе\u00adкино" in r[3]})
        assert disguised and await search(db, "Шебекино") == disguised
        assert await search(db, "Покровск") == sorted(
            {(r[0], r[1]) for r in latest if "Пoкровск" in r[3]})
        target = next(r for r in latest if "Шебе\u00adкино" in r[3])
        post = Post(target[0], target[1], t0, "Сводка: Грайворон",
                    edit_date=t0 + timedelta(days=30))
        await save_posts(db, [post], CapturePath.LIVE, t0 + timedelta(days=30))
        assert (target[0], target[1]) not in await search(db, "Шебекино")
        assert (target[0], target[1]) in await search(db, "Грайворон")
        assert await index_is_consistent(db)
        versions = await get_versions(db, target[0], target[1])
        assert [v.text for v in versions] == [
            r[3] for r in before if r[:2] == target[:2]] + ["Сводка: Грайворон"]
    finally:
        await db.close()


async def test_versions_after_migration_read_as_before(db, t0):
    """A new version, a formatting-only edit and a stale copy, on the new schema: the
    view holds what the old table would have held."""
    post = Post(5, 1, t0, "первая", entities=(Entity("bold", 0, 3),))
    from storage.models import Channel
    ch = Channel(5, "c", "c")
    await save_posts(db, [post], CapturePath.LIVE, t0, channel=ch)
    restyled = replace(post, entities=(Entity("italic", 0, 2),), edit_date=t0 + timedelta(1))
    await save_posts(db, [restyled], CapturePath.LIVE, t0 + timedelta(hours=1))
    second = replace(restyled, text="вторая", edit_date=t0 + timedelta(2))
    await save_posts(db, [second], CapturePath.LIVE, t0 + timedelta(hours=2))
    await save_posts(db, [replace(post, text="старая")], CapturePath.LIVE,
                     t0 + timedelta(hours=3))      # stale: no edit date
    versions = await get_versions(db, 5, 1)
    assert [(v.version, v.text, v.edit_date, v.seen_at) for v in versions] == [
        (1, "первая", None, t0), (2, "вторая", t0 + timedelta(2), t0 + timedelta(hours=2))]
    rows = await db.fetchall("SELECT version, entities FROM post_versions ORDER BY version")
    assert [tuple(r) for r in rows] == [(1, '[{"type":"bold","offset":0,"length":3}]'),
                                        (2, '[{"type":"italic","offset":0,"length":2}]')]
    assert (await db.fetchone("SELECT count(*) FROM stored_versions"))[0] == 1
