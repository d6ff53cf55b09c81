"""``tgmon serve`` without a browser: the bind and password checks, the read guard, the
SQL functions, the post page's data and the media archive route (Datasette in process)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clikit import assert_one_line_error, cli

from storage.db import open_database
from storage.models import CapturePath, Channel, Media, Post
from storage.posts import mark_deleted, save_posts

pytest.importorskip("datasette", reason="tgmon serve needs Datasette: pip install -e '.[dev]'")

from bot.rules import analyse, compile_rule
from bot.web import functions, guard, postpage, server

RYBAR = Channel(1326223006, "rybar", "Рыбарь")
T = datetime(2024, 3, 12, 5, tzinfo=UTC)


# ---- refusals, in one line --------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_a_non_local_bind_without_a_password_is_refused(fresh_machine, capsys, host):
    code, out, err = cli(capsys, "serve", "--host", host)
    assert_one_line_error(code, out, err, f"--host {host}", "TGMON_WEB_PASSWORD",
                          "127.0.0.1")
    assert not (fresh_machine / "data").exists()        # refused before anything


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses_are_local(host):
    assert server.is_local(host)
    server.check_bind(host, None)


def test_serve_refuses_what_is_not_a_tgmon_log(fresh_machine, capsys):
    other = fresh_machine / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    code, out, err = cli(capsys, "serve", "--db", str(other))
    assert_one_line_error(code, out, err, "not a tgmon database")
    code, out, err = cli(capsys, "serve", "--db", str(fresh_machine / "none.db"))
    assert_one_line_error(code, out, err, "no database at")


# ---- the read guard -----------------------------------------------------------------

def _guarded(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    functions.register(conn)
    guard.guard(conn)
    return conn


async def _log(path: Path) -> None:
    db = await open_database(path)
    try:
        await save_posts(db, [Post(RYBAR.channel_id, 1, T, "Бои у Тёткино"),
                              Post(RYBAR.channel_id, 2, T, "Курская область",
                                   media=Media("photo", None, 1000, "image/jpeg"))],
                         CapturePath.LIVE, T, channel=RYBAR)
        await save_posts(db, [Post(RYBAR.channel_id, 1, T, "Бои у Тёткино и Горналя",
                                   edit_date=T.replace(hour=6))], CapturePath.LIVE,
                         T.replace(hour=6))
        async with db.transaction() as conn:
            await mark_deleted(conn, RYBAR.channel_id, [2], T.replace(hour=7))
            await conn.execute("INSERT INTO chats (chat_id, kind, first_seen, last_seen) "
                               "VALUES (5, 'private', 'x', 'x')")
            await conn.execute(
                "INSERT INTO watched (username, source, added_by, added_at, channel_id, "
                "access_hash, status) VALUES ('rybar', 'admin', 42, 'x', ?, 777, 'ok')",
                (RYBAR.channel_id,))
    finally:
        await db.close()


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    path = tmp_path / "tgmon.db"
    await _log(path)
    return path


def test_internal_tables_cannot_be_read_and_nothing_written(log: Path):
    conn = _guarded(log)
    for sql in ("SELECT * FROM chats", "SELECT count(*) FROM outbox",
                "SELECT 1 FROM rules LIMIT 1", "SELECT text FROM posts JOIN alerts "
                "ON alerts.post_id = posts.id"):
        with pytest.raises(sqlite3.DatabaseError, match=r"not authorized|prohibited"):
            conn.execute(sql).fetchall()
    assert conn.execute("PRAGMA table_info(chats)").fetchall() == []
    assert conn.execute("SELECT count(*) FROM posts").fetchone() == (2,)
    # the watch list is served without the access hash and who added it
    assert conn.execute("SELECT username, access_hash, added_by FROM watched").fetchall() \
        == [("rybar", None, None)]
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute("ATTACH DATABASE ':memory:' AS other")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("UPDATE posts SET text = 'x'")


def test_search_in_the_browser_is_the_exports_search(log: Path):
    conn = _guarded(log)
    found = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH "
                         "escape_fts(?)", ("ТЕТКИНО горнал*",)).fetchall()
    assert len(found) == 1
    assert conn.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH "
                        "escape_fts('!!!')").fetchone() == (0,)


def test_the_rule_functions_run_tgmons_matcher(log: Path):
    conn = _guarded(log)
    rows = conn.execute("SELECT message_id, tgmon_rule_match(?, text, 'rybar', channel_id) "
                        "FROM posts ORDER BY message_id", ("Тёткино OR Курск",)).fetchall()
    expected = [(r[0], m.reason if (m := compile_rule("Тёткино OR Курск").match(
        analyse(r[1], channel="rybar", channel_id=RYBAR.channel_id))) else None)
        for r in conn.execute("SELECT message_id, text FROM posts ORDER BY message_id")]
    assert rows == expected and rows[0][1] and rows[1][1]
    assert functions.rule_error("Тёткино AND (") is not None
    assert functions.rule_error("") is not None and functions.rule_error("Курск") is None


# ---- the post page ------------------------------------------------------------------

def _execute(conn: sqlite3.Connection):
    conn.row_factory = sqlite3.Row

    async def execute(sql, params):
        return conn.execute(sql, params).fetchall()
    return execute


async def test_a_posts_page_holds_its_versions_tombstone_and_media(log: Path):
    conn = _guarded(log)
    edited = await postpage.load(_execute(conn), 1)
    assert edited is not None
    assert [v.number for v in edited.versions] == [2, 1]
    assert edited.text == "Бои у Тёткино и Горналя"
    assert ("added", " и Горналя") in edited.versions[0].diff
    assert edited.deleted_at is None and edited.url == "https://t.me/rybar/1"
    assert [c[0] for c in edited.changes] == ["new", "edit"]
    deleted = await postpage.load(_execute(conn), 2)
    assert deleted is not None and deleted.deleted_at == "2024-03-12T07:00:00Z"
    assert deleted.media == "photo, image/jpeg, 1,000 bytes" and deleted.files == ()
    assert await postpage.load(_execute(conn), 99) is None


# The media archive's and engagement's tables as issues 12 and 13 define them (created
# here only while this tgmon's migrations do not).
_MEDIA_SCHEMA = """
CREATE TABLE IF NOT EXISTS media_files (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, path TEXT NOT NULL, mime_type TEXT,
    phash TEXT, stored_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media_items (
    id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    version INTEGER NOT NULL, file_key TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER,
    mime_type TEXT, file_name TEXT, dc_id INTEGER, access_hash INTEGER,
    file_reference BLOB, thumb_size TEXT, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, not_before TEXT,
    sha256 TEXT REFERENCES media_files (sha256), queued_at TEXT NOT NULL,
    fetched_at TEXT, UNIQUE (channel_id, message_id, file_key));
CREATE VIEW IF NOT EXISTS post_media AS
SELECT coalesce(c.username, CAST(m.channel_id AS TEXT)) AS channel, m.channel_id,
       m.message_id, m.version, m.kind, m.size, m.mime_type, m.file_name, m.status,
       m.attempts, m.last_error, m.sha256, f.path, f.phash, m.fetched_at
FROM media_items m LEFT JOIN channels c USING (channel_id)
LEFT JOIN media_files f ON f.sha256 = m.sha256;
CREATE TABLE IF NOT EXISTS post_metrics (
    post_id INTEGER NOT NULL REFERENCES posts (id), at INTEGER NOT NULL, views INTEGER,
    forwards INTEGER, replies INTEGER, reactions_total INTEGER, reactions TEXT,
    PRIMARY KEY (post_id, at)) WITHOUT ROWID;
"""


async def test_media_from_the_archive_when_the_log_has_it(log: Path, tmp_path: Path):
    archive = tmp_path / "tgmon-media"
    content = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    sha = hashlib.sha256(content).hexdigest()
    (archive / sha[:2]).mkdir(parents=True)
    (archive / sha[:2] / f"{sha}.png").write_bytes(content)
    outside = "e" * 64
    with sqlite3.connect(log) as conn:
        conn.executescript(_MEDIA_SCHEMA)
        conn.executemany("INSERT INTO media_files (sha256, size, path, mime_type, stored_at) "
                         "VALUES (?, ?, ?, ?, 'x')",
                         [(sha, len(content), f"{sha[:2]}/{sha}.png", "image/png"),
                          (outside, 1, "../../etc/passwd", None)])
        conn.execute("INSERT INTO media_items (channel_id, message_id, version, file_key, "
                     "kind, size, mime_type, access_hash, file_reference, status, sha256, "
                     "queued_at) VALUES (?, 2, 1, 'photo:1', 'photo', ?, 'image/png', 99, "
                     "x'01', 'done', ?, 'x')", (RYBAR.channel_id, len(content), sha))
    page = await postpage.load(_execute(_guarded(log)), 2)
    assert page is not None
    assert (page.files[0].sha256, page.files[0].status, page.files[0].image) == (sha, "done", True)
    # the file's Telegram handles are not served
    assert _guarded(log).execute("SELECT access_hash, file_reference, kind FROM "
                                 "media_items").fetchall() == [(None, None, "photo")]
    ds = server.build(log, media_dir=archive)
    await ds.invoke_startup()
    got = await ds.client.get(f"/-/tgmon/media/{sha}")
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-type"] == "image/png"
    assert (await ds.client.get(f"/-/tgmon/media/{outside}")).status_code == 404
    assert (await ds.client.get(f"/-/tgmon/media/{'0' * 64}")).status_code == 404
    html = (await ds.client.get("/tgmon/posts/2")).text
    assert f'src="/-/tgmon/media/{sha}"' in html and "Deleted on Telegram" in html
    [listed] = (await ds.client.get("/tgmon/post_media.json?_shape=array")).json()
    assert (listed["channel"], listed["path"]) == ("rybar", f"{sha[:2]}/{sha}.png")


async def test_engagement_over_time_when_it_was_captured(log: Path):
    with sqlite3.connect(log) as conn:
        conn.executescript(_MEDIA_SCHEMA)
        conn.executemany("INSERT INTO post_metrics (post_id, at, views, forwards, replies, "
                         "reactions_total) VALUES (1, ?, ?, ?, NULL, ?)",
                         [(int(T.timestamp()) + 3600, 5000, 40, 12),
                          (int(T.timestamp()) + 60, 900, 3, 1)])
    page = await postpage.load(_execute(_guarded(log)), 1)
    assert page is not None
    assert page.engagement_columns[:3] == ("at", "views", "forwards")
    assert [row[:3] for row in page.engagement] == [("2024-03-12T05:01:00Z", 900, 3),
                                                    ("2024-03-12T06:00:00Z", 5000, 40)]
    ds = server.build(log)
    await ds.invoke_startup()
    html = (await ds.client.get("/tgmon/posts/1")).text
    assert "2024-03-12T06:00:00Z" in html and "<td>5000</td>" in html


async def test_titles_descriptions_and_canned_queries_are_served(log: Path):
    ds = server.build(log)
    await ds.invoke_startup()
    home = (await ds.client.get("/tgmon")).text
    for name in ("Deleted in the last 24 hours", "Edited posts, every version",
                 "What a rule matches", "Coverage per channel"):
        assert name in home
    assert 'href="/tgmon/chats"' not in home and 'href="/tgmon/outbox"' not in home
    assert 'href="/tgmon/post_log"' in home
    posts = (await ds.client.get("/tgmon/post_log")).text
    assert "Posts" in posts and "tombstone: when tgmon learnt" in posts
    deleted = (await ds.client.get("/tgmon/deleted_recently.json?until=2024-03-12T12:00"
                                   "&_shape=array")).json()
    assert [(r["message_id"], r["archived_text"]) for r in deleted] == [(2, "Курская область")]
    edited = (await ds.client.get("/tgmon/edited.json?_shape=array")).json()
    assert [(r["version"], r["text"]) for r in edited] == [
        (1, "Бои у Тёткино"), (2, "Бои у Тёткино и Горналя")]
    coverage = (await ds.client.get("/tgmon/coverage.json?_shape=array")).json()
    assert coverage[0]["posts"] == 2 and coverage[0]["holes"] == 0
    assert coverage[0]["deleted"] == 1 and coverage[0]["watch_status"] == "ok"
