"""Migration 0004: new posts are indexed for search once per stored batch, and the index
always matches the posts table (FTS5's integrity check compares it with the content)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from storage.db import migrations, open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts

RYBAR = Channel(1001, "rybar", "Рыбарь")
T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


async def search(db, query: str) -> list[int]:
    rows = await db.fetchall(
        "SELECT p.message_id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid "
        "WHERE posts_fts MATCH ? ORDER BY p.message_id", (query,))
    return [r[0] for r in rows]


async def index_is_consistent(db) -> bool:
    """The index holds exactly the tokens of every post's latest text, normalised (ё
    folded among others, migration 0010): compare its token instances with a fresh index
    of the same texts (FTS5's own content check cannot be used, since the index holds
    normalised text, not the stored text)."""
    await db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    script = [
        "CREATE VIRTUAL TABLE temp.ref USING fts5 "
        "(text, detail = none, tokenize = 'unicode61 remove_diacritics 2')",
        "INSERT INTO temp.ref (rowid, text) "
        "SELECT id, tgmon_search_text(text) FROM posts",
        "CREATE VIRTUAL TABLE temp.ref_terms USING fts5vocab (temp, ref, 'instance')",
        "CREATE VIRTUAL TABLE temp.log_terms USING fts5vocab (main, posts_fts, 'instance')",
    ]
    for sql in script:
        await db.execute(sql)
    try:
        diff = await db.fetchone(
            "SELECT (SELECT count(*) FROM (SELECT * FROM temp.ref_terms "
            "EXCEPT SELECT * FROM temp.log_terms)) + (SELECT count(*) FROM "
            "(SELECT * FROM temp.log_terms EXCEPT SELECT * FROM temp.ref_terms))")
        total = await db.fetchone("SELECT count(*) FROM temp.log_terms")
        return diff[0] == 0 and total[0] > 0
    finally:
        for table in ("log_terms", "ref_terms", "ref"):
            await db.execute(f"DROP TABLE temp.{table}")


async def test_posts_inserted_and_edited_in_one_batch_are_indexed_once(db):
    first = Post(1001, 1, T0, "Бойцы вошли в Тёткино")
    edited = Post(1001, 1, T0, "Бойцы вышли из Тёткино", edit_date=T0 + timedelta(minutes=1))
    other = Post(1001, 2, T0, "Курская область")
    res = await save_posts(db, [first, other, edited], CapturePath.LIVE, T0, channel=RYBAR)
    assert (res.new, res.edited) == (2, 1)
    assert await search(db, "вышли") == [1]
    assert await search(db, "вошли") == []
    assert await search(db, "теткино") == [1]
    assert await search(db, "курская") == [2]
    assert (await db.fetchone("SELECT count(*) FROM fts_pending"))[0] == 0
    assert await index_is_consistent(db)


async def test_later_edits_reindex_at_once(db):
    await save_posts(db, [Post(1001, 1, T0, "старый текст")], CapturePath.LIVE, T0,
                     channel=RYBAR)
    await save_posts(db, [Post(1001, 1, T0, "новый текст", edit_date=T0 + timedelta(hours=1)),
                          Post(1001, 2, T0, "ещё старый текст")],
                     CapturePath.LIVE, T0 + timedelta(hours=1))
    assert await search(db, "новый") == [1]
    assert await search(db, "старый") == [2]
    assert await index_is_consistent(db)


async def test_a_database_of_schema_1_upgrades_with_its_index(tmp_path):
    path = tmp_path / "old.db"
    version, _name, sql = migrations()[0]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO channels VALUES (1001, 'rybar', 'Рыбарь', 'x', 'x')")
    conn.execute("INSERT INTO posts (channel_id, message_id, date, text, first_seen, last_seen, "
                 "captured_via) VALUES (1001, 1, 'd', 'Сводка из Тёткино', 'x', 'x', 'live')")
    conn.close()
    db = await open_database(path)
    try:
        assert (await db.fetchone("PRAGMA user_version"))[0] == len(migrations())
        assert await search(db, "теткино") == [1]
        await save_posts(db, [Post(1001, 1, T0, "Сводка из Суджи",
                                   edit_date=T0 + timedelta(minutes=5))],
                         CapturePath.LIVE, T0 + timedelta(minutes=5))
        assert await search(db, "теткино") == []
        assert await search(db, "суджи") == [1]
        assert await index_is_consistent(db)
    finally:
        await db.close()


async def test_the_consistency_check_can_fail(db):
    await save_posts(db, [Post(1001, 1, T0, "текст")], CapturePath.LIVE, T0, channel=RYBAR)
    assert await index_is_consistent(db)
    await db.execute("INSERT INTO posts_fts (rowid, text) VALUES (1, 'лишнее слово')")
    assert not await index_is_consistent(db)
