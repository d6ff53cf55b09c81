"""Rule backtests through the word index give exactly the answers of matching every
post of the period: on generated logs (all kinds of rules and words, edits, deletions,
renamed channels, an index partly built, stale, or never built) and on the shared news
posts."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.scheduling.coverage import tally_rules_of_many
from bot.rules import RuleSet, analyse, compile_rule
from bot.rules.indexer import index_pending
from bot.rules.trial import matching_posts, try_rule
from storage.channels import save_channel
from storage.db import Database
from storage.digest_queries import Period, stream_period_posts
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, save_posts
from storage.search import posts_between
from tests.exportkit import NEWS, shared

START = datetime(2024, 1, 20, tzinfo=UTC)

WORDS = (
    "Курск", "Курская", "Курской", "Курске", "курский", "курская область", "Курская область",
    "Белгород", "белгородский", "обстрел", "обстрелы", "обстреляли", "дрон", "дроны", "ПВО",
    "Тёткино", "Теткино", "Тёткине", "колонна", "колонну", "Kursk", "Tyotkino", "Belgorod",
    "Харків", "Харкові", "Kharkiv", "м'ясо", "м’ясо", "don't", "drones", "Санкт-Петербург",
    "Санкт-Петербурге", "#сводка", "#Курская_область", "#ПВО", "2024", "12:30", "Ку́рск",
    "Kурск", "ё", "ещё", "Ещё", "—", "!", "🔥", "граница", "границе", "эвакуация", "курсы",
    "курсант", "курсор", "α-частица", "Zaporizhzhia", "Запорожье", "Запоріжжя", "ЗСУ", "ВСУ",
    # disguises: an invisible character, fullwidth letters, a combining accent, look-alikes
    "Кур\u200bск", "ＰＶＯ", "Белгоро\u0301д", "Тёткинo", "Bелгород", "#Kурск",
    "Шебе\u00adкино", "Шебекино", "𝐊𝐮𝐫𝐬𝐤", "Пoкровск",
    # letters RE2's case folding reads as в, с, k (old Cyrillic forms, the Kelvin sign)
    "Курᲃк", "ᲀсу", "\u212aursk", "Ёлка", "ЁЛКА", "елка",
)
RULES = (
    "Курск", "Kursk", "курская", "Курск OR Белгород", "курск обстрел", "курск -обстрел",
    '"курская область"', "Санкт-Петербург", "курс*", "#сводка", "#курская_область",
    "from:chan1", "from:chan1 курск", "from:1102", "from:renamed дрон", "from:chan9",
    r"/\d+ курск/", "/тётк/ OR дрон", "Tyotkino", "Тёткино", "Харків", "Kharkiv", "м'ясо",
    'курск -"курская область"', "(курск OR белгород) -(дрон OR обстрел)", "2024",
    "ПВО", "колонна OR #сводка OR from:chan2", "don't", "Zaporizhzhia", "ещё",
    "дрон -from:chan0", "курск -курс*", "/ПВО/ -#пво", "-дрон курск белгород",
    '"курская область" OR курсант', "Belgorod граница -/\\d/", "α",
    r"курск /\d/", "/курск/ -дрон", r"(/\d+/ OR дрон) белгород", "-/а/ курск",
    r'/\d/ "курская область"', "/е/", "#сводка OR /Тёт/", "/Курск/", "/пво/ OR #курск",
    "белгород", "#курск", "pvo OR ПВО", "Шебекино", "/шебекино/", "Покровск", "/Kurs/",
    # regexes searched in the joined texts of a period, or text by text when anchored
    "/^курск/", "/курск$/", r"/\bдрон\b/", r"/дрон\s+курск/", "/(?s)курск.*дрон/",
    r"/(?m)^\d/", "/ПВО\n/", "/(?-i)Ещ/", "/ё/", r"/е\s/", r"/\n\n*к/",
    # regexes narrowed down by the words holding a piece of them
    "/елка/", "/ёлка/", r"/(курск|белгород) \d/", r"/\d+:\d+/", "/всу/", "/урск/",
    "/(?i)KURSK/", "/белгоро.|курс/",
    # phrases decided from the words and the vocabulary
    '"курск обстрел"', '"ещё ещё"', '"курская область" "санкт-петербург"', '"ку́рск 2024"',
    '"курская область" -"санкт-петербург"', '"kursk tyotkino" OR "курск курская"',
)


def random_text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randrange(0, 16))]
    return "".join(w + rng.choice((" ", " ", " ", "\n", ", ")) for w in words).strip()


CHANNELS = [Channel(1100 + i, f"chan{i}" if i != 3 else None, f"К{i}") for i in range(4)]


async def write_log(db: Database, rng: random.Random, n: int, first_mid: int = 1,
                    texts: list[str] | None = None) -> list[Post]:
    posts = []
    for i in range(n):
        ch = CHANNELS[i % len(CHANNELS)]
        text = texts[i % len(texts)] if texts else random_text(rng)
        posts.append(Post(ch.channel_id, first_mid + i // len(CHANNELS),
                          START + timedelta(hours=7 * i + rng.randrange(5)), text,
                          views=rng.randrange(1000)))
    for ch in CHANNELS:
        await save_channel(db, ch, START)
    for k in range(0, len(posts), 97):
        await save_posts(db, posts[k:k + 97], CapturePath.LIVE, START)
    return posts


async def full_scan(db: Database, rule_text: str, since: datetime, until: datetime) -> list:
    """Today's backtest: every post of the period analysed and matched, newest first."""
    rule = compile_rule(rule_text)
    out = []
    async for stored in posts_between(db, since, until):
        m = rule.match(analyse(stored.post.text, channel=stored.channel.username,
                               channel_id=stored.post.channel_id))
        if m is not None:
            out.append((stored.post.channel_id, stored.post.message_id, stored.deleted_at,
                        m.reason, m.spans))
    return out


async def assert_same_answers(db: Database, rules=RULES, periods=None) -> None:
    periods = periods or [(START, START + timedelta(days=200)),
                          (START + timedelta(days=35), START + timedelta(days=65)),
                          (START + timedelta(days=3), START + timedelta(days=4))]
    for since, until in periods:
        for rule in rules:
            expected = await full_scan(db, rule, since, until)
            trial = await try_rule(db, rule, since, until, limit=4)
            assert trial.matched == len(expected), rule
            assert trial.deleted == sum(1 for e in expected if e[2] is not None), rule
            assert [(f.post.post.channel_id, f.post.post.message_id, f.post.deleted_at,
                     f.match.reason, f.match.spans) for f in trial.latest] == expected[:4], rule
            listed = [(f.post.post.channel_id, f.post.post.message_id, f.post.deleted_at,
                       f.match.reason, f.match.spans)
                      async for f in matching_posts(db, compile_rule(rule), since, until)]
            assert listed == expected, rule


async def edit_some(db: Database, rng: random.Random, posts: list[Post], at: datetime) -> None:
    edited = [replace(p, text=random_text(rng), edit_date=at) for p in rng.sample(posts, 25)]
    await save_posts(db, edited, CapturePath.CATCH_UP, at)
    async with db.transaction() as conn:
        for p in rng.sample(posts, 10):
            await mark_deleted(conn, p.channel_id, [p.message_id], at)


async def test_backtests_through_the_index_match_a_full_scan(db):
    rng = random.Random(17)
    posts = await write_log(db, rng, 600)
    # never indexed: every post is checked
    await assert_same_answers(db, RULES[:8])
    assert await index_pending(db) == 600
    await assert_same_answers(db)
    # edited and new posts wait for the indexer; answers do not
    await edit_some(db, rng, posts, START + timedelta(days=10))
    more = await write_log(db, rng, 80, first_mid=1000)
    await save_channel(db, replace(CHANNELS[2], username="renamed"), START + timedelta(days=11))
    assert (await db.fetchone("SELECT count(*) FROM words_pending"))[0] >= 80
    await assert_same_answers(db)
    assert await index_pending(db) > 80
    await edit_some(db, rng, posts + more, START + timedelta(days=12))
    await index_pending(db)
    assert (await db.fetchone("SELECT count(*) FROM words_pending"))[0] == 0
    await assert_same_answers(db)
    await db.execute("INSERT INTO post_words (post_words) VALUES ('integrity-check')")


async def test_an_index_of_another_analysis_is_not_used_and_is_rebuilt(db):
    rng = random.Random(5)
    await write_log(db, rng, 200)
    await index_pending(db)
    await db.execute("UPDATE word_index_state SET version = 'old'")
    await assert_same_answers(db, RULES[:6])
    assert await index_pending(db) == 200          # emptied and filled again
    assert (await db.fetchone("SELECT version FROM word_index_state"))[0] != "old"
    await assert_same_answers(db, RULES[:6])


async def test_digest_rule_sections_match_a_full_scan(db):
    rng = random.Random(3)
    posts = await write_log(db, rng, 400)
    await index_pending(db)
    await edit_some(db, rng, posts, START + timedelta(days=3))
    period = Period(START, START + timedelta(days=60))
    ids = [c.channel_id for c in CHANNELS[:3]]
    rules = {1: [(r, compile_rule(r)) for r in RULES[:12]],
             2: [(r, compile_rule(r)) for r in RULES[12:]]}
    got = await tally_rules_of_many(db, period, ids, rules)
    # the reference: every post of the period through one RuleSet
    from bot.digest.rule_matches import RuleTally
    ruleset, owners, tallies = RuleSet(), {}, {}
    for chat, chat_rules in rules.items():
        tallies[chat] = RuleTally([label for label, _ in chat_rules])
        for i, (_, compiled) in enumerate(chat_rules):
            ruleset.add(len(owners), compiled)
            owners[len(owners)] = (chat, i)
    async for sp in stream_period_posts(db, period, ids):
        for number, _ in ruleset.match(analyse(sp.post.text, channel=sp.channel.username,
                                               channel_id=sp.post.channel_id)):
            chat, i = owners[number]
            tallies[chat].add(i, sp)
    assert got == {chat: t.result() for chat, t in tallies.items()}
    assert any(m.matches for r in got.values() for m in r)


async def test_backtests_on_the_shared_news_posts(db):
    with shared(NEWS).open(encoding="utf-8") as f:
        texts = [t for t in (json.loads(line).get("text") for line in f) if t]
    rng = random.Random(11)
    await write_log(db, rng, len(texts), texts=texts)
    await index_pending(db)
    # words of the news posts themselves, of every kind of rule
    rules = ["Путин", "Москва OR Киев", "ВСУ обстрел", '"в результате"', "погиб*", "#новости",
             "Moskva", "Ukraine", "from:chan1 Россия", "Россия -Украина", r"/\d+ человек/",
             "Зеленский", "Zelensky", "США OR Китай -санкции", "Санкт-Петербург"]
    await assert_same_answers(db, rules, [(START, START + timedelta(days=700)),
                                          (START + timedelta(days=100),
                                           START + timedelta(days=130))])


async def test_indexing_stopped_halfway_goes_on_where_it_stopped(db):
    rng = random.Random(8)
    await write_log(db, rng, 1200)

    def stop_after_first_batch(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await index_pending(db, batch=500, progress=stop_after_first_batch)
    left = (await db.fetchone("SELECT count(*) FROM words_pending"))[0]
    assert left == 700                      # the first batch was filed, nothing else
    await assert_same_answers(db, RULES[:10])
    assert await index_pending(db, batch=500) == 700
    await assert_same_answers(db, RULES[:10])


def test_a_migrated_log_is_indexed_by_tgmon_index(tmp_path, t0, capsys):
    import asyncio

    from oldlog import write_old_log

    from bot.cli import main
    from storage.db import open_database

    path = tmp_path / "old.db"
    conn = write_old_log(path, t0)
    posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    conn.close()
    assert main(["index", "--db", str(path)]) == 0
    assert f"{posts} posts indexed, none left" in capsys.readouterr().out

    async def check() -> None:
        db = await open_database(path)
        try:
            assert (await db.fetchone("SELECT count(*) FROM words_pending"))[0] == 0
            await assert_same_answers(db, ["Курск", "Kursk OR дрон", '"ПВО Тёткино"',
                                           "#сводка", r"/\d/"],
                                      [(t0 - timedelta(days=1), t0 + timedelta(days=9))])
        finally:
            await db.close()
    asyncio.run(check())


def test_rules_test_reads_only_and_says_when_the_index_lags(tmp_path, t0, capsys,
                                                           monkeypatch):
    import asyncio

    from bot.cli import index as index_cmd
    from bot.cli import main
    from storage.db import open_database

    monkeypatch.setattr(index_cmd, "QUIET_PENDING", 10)
    path = tmp_path / "log.db"

    async def write() -> None:
        db = await open_database(path)
        try:
            await write_log(db, random.Random(2), 40)
        finally:
            await db.close()
    asyncio.run(write())
    before = path.read_bytes()
    args = ["rules", "test", "Курск", "--db", str(path), "--since", "2024-01-01",
            "--until", "2024-03-01"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "the word index is not built" in first.err and "tgmon index" in first.err
    assert path.read_bytes() == before                   # a reading command wrote nothing
    assert main(["index", "--db", str(path)]) == 0
    assert "40 posts indexed, none left" in capsys.readouterr().out
    assert main(args) == 0
    second = capsys.readouterr()
    assert "note" not in second.err and second.out == first.out
