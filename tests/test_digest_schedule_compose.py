"""What a chat's digest covers, its rules, the cache of identical digests, the
once-only enqueueing and a group's sponsor — on a real database, without Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from digest_helpers import DigestRule, compose, prepare_digest

from bot.digest.scheduling.compose import DigestCache, DigestRequest, compose_many
from bot.digest.scheduling.coverage import compiled_rules, coverage
from bot.digest.scheduling.enqueue import enqueue_digest
from bot.rules import analyse, compile_rule
from config.settings import Settings
from storage import outbox
from storage.channels import save_channel
from storage.chats import touch
from storage.digest_queries import Period
from storage.digest_schedules import get_chat_schedule, group_sponsor, set_enabled
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts
from storage.subscriptions import SavedRule, add_rule, subscribe
from storage.watchlist import find_entry, set_resolved, set_status, sync_config

NOW = datetime(2024, 3, 12, 8, 0, tzinfo=UTC)
LEGION = Channel(777, "legionoffreedom", "Легион")
RYBAR = Channel(888, "rybar", "Рыбарь")
GLADKOV = Channel(999, "vvgladkov", "Гладков")
PERIOD = Period(NOW - timedelta(days=1), NOW)


async def setup(db) -> None:
    await sync_config(db, [("legionoffreedom", "Легион"), ("rybar", "Рыбарь"),
                           ("vvgladkov", "Гладков"), ("wargonzo", "WarGonzo")], NOW)
    for c in (LEGION, RYBAR, GLADKOV):
        await save_channel(db, c, NOW)
        entry = await find_entry(db, c.username or "")
        await set_resolved(db, entry.id, c.channel_id, 1, NOW)
    gladkov = await find_entry(db, "vvgladkov")
    await set_status(db, gladkov.id, "private", "the channel became private", NOW)
    for c in (LEGION, RYBAR):
        await save_posts(db, [Post(c.channel_id, i, NOW - timedelta(hours=i),
                                   f"Тёткино, сводка {i}" if i % 2 else f"Курск {i}",
                                   views=i * 10) for i in range(1, 9)], CapturePath.LIVE, NOW, c)
    for chat in (1, 2, 3):
        await touch(db, chat_id=chat, kind="private", title=None, user_id=chat,
                    first_name="x", username=None, now=NOW)


async def test_a_chat_covers_its_subscriptions_or_every_resolved_watched_channel(db):
    await setup(db)
    everything = await coverage(db, 1)
    # wargonzo is not resolved: it has no channel yet; Гладков cannot be read
    assert (everything.channel_ids, everything.subscribed) == ((777, 888, 999), False)
    assert everything.unreadable == ((GLADKOV, "private: the channel became private"),)
    await subscribe(db, 2, 888, 2, NOW)
    mine = await coverage(db, 2)
    assert (mine.channel_ids, mine.subscribed, mine.unreadable) == ((888,), True, ())


def test_rules_that_no_longer_compile_are_left_out():
    saved = [SavedRule(1, 1, "Тёткино", NOW), SavedRule(2, 1, "-реклама", NOW),
             SavedRule(3, 1, "Курск OR Kursk", NOW)]
    assert [label for label, _ in compiled_rules(saved)] == ["Тёткино", "Курск OR Kursk"]


def predicate(text):
    rule = compile_rule(text)
    return lambda sp: rule.match(analyse(sp.post.text, channel=sp.channel.username,
                                         channel_id=sp.post.channel_id)) is not None


async def test_digests_built_together_are_those_prepare_digest_builds_alone(db):
    await setup(db)
    await subscribe(db, 2, 777, 2, NOW)
    await subscribe(db, 3, 777, 3, NOW)
    await add_rule(db, 1, "Тёткино", 1, NOW)
    await add_rule(db, 2, "Курск OR Kursk", 2, NOW)
    await add_rule(db, 2, "сводка", 2, NOW)
    await add_rule(db, 3, "Тёткино", 3, NOW)
    together = await compose_many(db, [DigestRequest(1, "Europe/Moscow", PERIOD),
                                       DigestRequest(2, "UTC", PERIOD),
                                       DigestRequest(3, "UTC", PERIOD)])
    wanted = {1: (None, ["Тёткино"], "Europe/Moscow"),
              2: ((777,), ["Курск OR Kursk", "сводка"], "UTC"),
              3: ((777,), ["Тёткино"], "UTC")}
    for chat, (channels, rules, tz) in wanted.items():
        cover = await coverage(db, chat)
        alone = await prepare_digest(
            db, PERIOD, ZoneInfo(tz), channel_ids=channels or cover.channel_ids,
            rules=[DigestRule(r, predicate(r)) for r in rules], unreadable=cover.unreadable,
            chart=False)
        assert together[chat].prepared.messages == alone.messages
        assert together[chat].prepared.chart_caption == alone.chart_caption
    assert [(r.label, r.matches) for r in together[2].prepared.digest.rules] == \
        [("Курск OR Kursk", 4), ("сводка", 4)]
    # chats 2 and 3 cover the same channels and zone: one chart for both
    assert together[2].chart_png is together[3].chart_png is not None


async def test_the_same_coverage_is_built_once_and_rules_make_it_another(db):
    await setup(db)
    settings = Settings()
    cache = DigestCache()
    first = await compose(db, settings, 1, None, PERIOD, cache=cache, now=NOW)
    assert await compose(db, settings, 2, None, PERIOD, cache=cache, now=NOW) is first
    # another zone, or rules, or later: built anew
    assert await compose(db, settings, 2, "Europe/Moscow", PERIOD, cache=cache,
                         now=NOW) is not first
    await add_rule(db, 3, "Тёткино", 3, NOW)
    ruled = await compose(db, settings, 3, None, PERIOD, cache=cache, now=NOW)
    assert ruled is not first
    assert [r.matches for r in ruled.prepared.digest.rules] == [8]     # 4 a channel
    later = NOW + cache.ttl + timedelta(seconds=1)
    assert await compose(db, settings, 2, None, PERIOD, cache=cache, now=later) is not first
    assert first.prepared.digest.total_posts == 16 and first.chart_png


async def test_a_digest_is_enqueued_once_with_its_mark(db):
    await setup(db)
    composed = await compose(db, Settings(), 1, None, PERIOD)
    assert await enqueue_digest(db, 1, due=NOW, period=PERIOD, expected_end=None,
                                composed=composed, now=NOW)
    queued = await outbox.due(db, NOW)
    keys = [p.message.dedup_key for p in queued]
    assert keys == [f"digest:1:2024-03-12T08:00:00Z:{i + 1}"
                    for i in range(len(composed.prepared.messages))] + \
        ["digest:1:2024-03-12T08:00:00Z:chart"]
    assert queued[-1].message.as_photo and queued[-1].message.file_name == "digest.png"
    mark = (await get_chat_schedule(db, 1)).schedule
    assert (mark.last_due, mark.period_end, mark.last_sent_at) == (NOW, NOW, NOW)
    # a second attempt that read the mark before the first one moved it writes nothing
    assert not await enqueue_digest(db, 1, due=NOW, period=PERIOD, expected_end=None,
                                    composed=composed, now=NOW)
    assert await outbox.pending_count(db) == len(queued)


async def test_a_groups_sponsor_is_who_set_it_up(db):
    await setup(db)
    group = -4242
    await touch(db, chat_id=group, kind="group", title="desk", user_id=5, first_name="x",
                username=None, now=NOW)
    assert await group_sponsor(db, group) is None
    await subscribe(db, group, 777, 5, NOW)
    await add_rule(db, group, "Курск", 6, NOW + timedelta(minutes=1))
    assert await group_sponsor(db, group) == 6             # the latest to set something up
    await set_enabled(db, group, True, 7, NOW + timedelta(minutes=2))
    assert await group_sponsor(db, group) == 7             # who changed its schedule
