"""Posts written in disguise (issue 16) are found everywhere a user searches: alerts (the
written characters in bold), /test in the bot, ``tgmon rules test``, ``tgmon export
--search``; and migration 0010 re-indexes a log stored before it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alertkit import ANNA, LEGION, alerts, log_fed, people, publish, quiet, settings

from bot.cli import main
from storage.db import migrations, open_database
from storage.models import CapturePath, Channel, Post
from storage.normalise import search_version
from storage.posts import save_posts
from tests.test_storage_fts_batch import index_is_consistent

pytestmark = pytest.mark.usefixtures("fresh_machine")

SHY, ZWSP, ZWNJ, ZWJ, WJ, BOM = "\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"
ACUTE = "\u0301"
T0 = datetime(2024, 8, 20, 12, 0, tzinfo=UTC)
CHANNEL = Channel(1001, "gubernator_46", "Губернатор Курской области")

# (a rule, a --search for the same word as people type it, a post that writes it in disguise)
FOUND = [
    ("Покровск", "Покровском", "Бои под Пoкровском"),                   # a Latin o
    ("Покровск", "покровска", "ВСУ ОТСТУПАЮТ ИЗ ПОКРOВСКА"),           # a Latin capital O
    ("Шебекино", "Шебекино", f"Обстрел Шебе{SHY}кино"),               # a soft hyphen
    ("Шебекино", "Шебекино", f"Ночью Шеб{ZWSP}екино снова"),          # a zero-width space
    ("Шебекино", "Шебекино", f"Под Ше{ZWNJ}бе{ZWJ}кино тихо"),        # non-joiner, joiner
    ("Шебекино", "Шебекино", f"Шебе{WJ}кин{BOM}о: сводка"),            # word joiner, BOM
    ("Грайворон", "Грайворон", f"Гра{ACUTE}йворон обстреляли"),        # a stress mark
    ("Тёткино", "Теткине", "Бои у Те\u0308ткине"),                    # ё written е + ̈
    ("Kursk", "Kursk", "Атака на 𝐊𝐮𝐫𝐬𝐤"),                                # mathematical bold
    ("Kursk", "kursk", "Атака на Ｋｕｒｓｋ"),                             # fullwidth
    ("fire", "fire", "A huge ﬁre at the depot"),                     # a ligature
    ("км2", "км2", "Площадь пожара 40 км²"),                          # a superscript
    ("Kyiv", "Kyiv", "Strike on Kуiv"),                               # a Cyrillic у, Latin word
]
PLAIN = "Погода в Белгороде"     # matches none of them


async def fill(path: Path) -> None:
    db = await open_database(path)
    try:
        posts = [Post(CHANNEL.channel_id, i, T0 - timedelta(hours=i), text)
                 for i, (_, _, text) in enumerate(FOUND, start=1)]
        posts.append(Post(CHANNEL.channel_id, 99, T0 - timedelta(hours=99), PLAIN))
        await save_posts(db, posts, CapturePath.LIVE, T0, channel=CHANNEL)
    finally:
        await db.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "tgmon.db"
    asyncio.run(fill(path))
    return path


def written_like(rule: str) -> set[int]:
    """Message ids of the posts that write the rule's word (a rule may find several)."""
    return {i for i, (r, _, _) in enumerate(FOUND, start=1) if r == rule}


@pytest.mark.parametrize("rule", sorted({r for r, _, _ in FOUND}))
def test_rules_test_finds_every_disguised_post(log, capsys, rule):
    assert main(["rules", "test", rule, "--json", "--since", "2024-08-01",
                 "--until", "2024-08-21", "--db", str(log)]) == 0
    found = {json.loads(line)["message_id"] for line in capsys.readouterr().out.splitlines()}
    assert found == written_like(rule)


def test_rules_test_shows_why_with_the_word_as_written(log, capsys):
    assert main(["rules", "test", "Шебекино OR Покровск", "--since", "2024-08-01",
                 "--until", "2024-08-21", "--limit", "10", "--db", str(log)]) == 0
    out = capsys.readouterr().out
    assert "matched: 6 of 14 stored posts" in out
    assert "why: Покровск (Пoкровском)" in out
    assert f"why: Шебекино (Шебе{SHY}кино)" in out
    assert f"  Обстрел Шебе{SHY}кино" in out                      # the text as it was written


@pytest.mark.parametrize(("query", "i"), [(q, i) for i, (_, q, _) in enumerate(FOUND, start=1)])
def test_export_search_finds_every_disguised_post(log, capsysbinary, query, i):
    assert main(["export", "--format", "jsonl", "--search", query, "--db", str(log)]) == 0
    out, _ = capsysbinary.readouterr()
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert i in [r["message_id"] for r in rows]
    assert 99 not in [r["message_id"] for r in rows]
    assert {r["text"] for r in rows} <= {text for _, _, text in FOUND}   # exported as written


def test_export_search_query_may_be_disguised_too(log, capsysbinary):
    assert main(["export", "--format", "jsonl", "--search", f"Шеб{ZWSP}е\u0301кино",
                 "--db", str(log)]) == 0
    out, _ = capsysbinary.readouterr()
    ids = sorted(json.loads(line)["message_id"] for line in out.decode().splitlines())
    assert ids == sorted(written_like("Шебекино"))


async def search(db, query: str) -> list[int]:
    rows = await db.fetchall(
        "SELECT p.message_id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid "
        "WHERE posts_fts MATCH ? ORDER BY p.message_id", (query,))
    return [r[0] for r in rows]


async def test_migration_fts_normalised_reindexes_posts_stored_before_it(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    known = migrations()
    ours = next(i for i, (_, name, _) in enumerate(known) if name.endswith("_fts_normalised.sql"))
    for version, _name, sql in known[:ours]:
        conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO channels VALUES (1001, 'gubernator_46', 'Губернатор', 'x', 'x')")
    for i, text in enumerate([f"Обстрел Шебе{SHY}кино", "Бои под Пoкровском", "Бои у Тёткино"],
                             start=1):
        conn.execute("INSERT INTO posts (channel_id, message_id, date, text, first_seen, "
                     "last_seen, captured_via) VALUES (1001, ?, 'd', ?, 'x', 'x', 'live')",
                     (i, text))
    # as store_posts indexed them until migration 0010
    conn.execute("INSERT INTO posts_fts (rowid, text) SELECT p.id, "
                 "replace(replace(p.text, 'ё', 'е'), 'Ё', 'Е') FROM fts_pending q "
                 "JOIN posts p ON p.id = q.post_id")
    conn.execute("DELETE FROM fts_pending")
    assert conn.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH "
                        "'\"Шебекино\" OR \"Покровском\"'").fetchone()[0] == 0
    conn.close()
    db = await open_database(path)
    try:
        assert (await db.fetchone("PRAGMA user_version"))[0] == len(migrations())
        assert await search(db, '"Шебекино"') == [1]
        assert await search(db, '"Покровском"') == [2]
        assert await search(db, '"Теткино"') == [3]
        assert await index_is_consistent(db)
        # an edit re-indexes through the new trigger, removing the old text's words
        await save_posts(db, [Post(1001, 2, T0, f"Бои под Гра{ACUTE}йвороном",
                                   edit_date=T0)], CapturePath.LIVE, T0)
        assert await search(db, '"Покровском"') == []
        assert await search(db, '"Грайвороном"') == [2]
        assert await index_is_consistent(db)
        stored = await db.fetchone("SELECT text FROM posts WHERE message_id = 1")
        assert stored[0] == f"Обстрел Шебе{SHY}кино"                  # stored as written
    finally:
        await db.close()


def bold(message) -> list[str]:
    """The bold parts of a message (entity offsets are UTF-16 units)."""
    raw = message.text.encode("utf-16-le")
    return [raw[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
            for e in message.entities if e.type == "bold"]


def test_alerts_bold_the_disguised_words_as_written(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Kursk OR Шебекино OR Грайворон")
            await publish(rt, LEGION, 1, f"⚡️ Атака на 𝐊𝐮𝐫𝐬𝐤 и Шебе{SHY}кино")
            await publish(rt, LEGION, 2, f"Гра{ACUTE}йворон: обстрел")
            await publish(rt, LEGION, 3, "Погода в Белгороде")
            await quiet(sim, app)
            got = alerts(sim, ANNA)
            assert [bold(m)[1:] for m in got] == [["𝐊𝐮𝐫𝐬𝐤", f"Шебе{SHY}кино"],
                                                  [f"Гра{ACUTE}йворон"]]
            assert f"⚡️ Атака на 𝐊𝐮𝐫𝐬𝐤 и Шебе{SHY}кино" in got[0].text  # the text as written

    sim.run(body)


def test_bot_test_finds_disguised_posts_and_bolds_them(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            now = sim.now()
            for i, (_, _, text) in enumerate(FOUND, start=1):
                await publish(rt, LEGION, i, text, via=CapturePath.IMPORT,
                              date=now - timedelta(hours=i))
            answer = await sim.ask(anna, "/test Покровск OR Шебекино")
            assert "would have matched 6 of 13 stored posts" in answer.text
            assert bold(answer)[1:] == ["Пoкровском", "ПОКРOВСКА", f"Шебе{SHY}кино",
                                        f"Шеб{ZWSP}екино", f"Ше{ZWNJ}бе{ZWJ}кино"]  # latest 5
            assert f"Обстрел Шебе{SHY}кино" in answer.text
            for rule, _, text in FOUND:
                answer = await sim.ask(anna, f"/test {rule}")
                n = len(written_like(rule))
                assert f"would have matched {n} of 13 stored posts" in answer.text, (rule, text)

    sim.run(body)


async def make_stale(path: Path) -> None:
    """The index as an older tgmon (or another Unicode database) would have built it."""
    db = await open_database(path)
    try:
        await db.execute("UPDATE fts_normalisation SET version = '0 unicode 13.0.0'")
        await db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('delete-all')")
        await db.execute("INSERT INTO posts_fts (rowid, text) SELECT id, "
                         "replace(text, 'о', 'ø') FROM posts")
        assert await search(db, '"Шебекино"') == []
    finally:
        await db.close()


async def test_an_index_built_by_another_normalisation_is_rebuilt_on_open(tmp_path):
    path = tmp_path / "tgmon.db"
    await fill(path)
    await make_stale(path)
    db = await open_database(path)
    try:
        assert await search(db, '"Шебекино"') == sorted(written_like("Шебекино"))
        assert await index_is_consistent(db)
        version = await db.fetchone("SELECT version FROM fts_normalisation")
        assert version[0] == search_version()
    finally:
        await db.close()


def test_a_command_that_only_reads_rebuilds_a_stale_index_first(log, capsysbinary):
    asyncio.run(make_stale(log))
    assert main(["export", "--format", "jsonl", "--search", "Шебекино", "--db", str(log)]) == 0
    out, _ = capsysbinary.readouterr()
    ids = sorted(json.loads(line)["message_id"] for line in out.decode().splitlines())
    assert ids == sorted(written_like("Шебекино"))
