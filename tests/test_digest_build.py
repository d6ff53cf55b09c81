"""Building a digest is pure and deterministic: excerpts, edits, silence, rules, periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from digest_helpers import tally_rules

from bot.digest.build import DigestStyle, build_digest, channel_label, hour_starts
from bot.digest.excerpt import excerpt, one_line, shorten, word_changes
from bot.digest.layout import fmt_count, fmt_span, fmt_time
from bot.digest.period import MAX_PERIOD, period_since, requested_period
from bot.digest.render_telegram import render_telegram
from bot.digest.render_text import render_text
from bot.digest.rule_matches import RuleTally
from bot.digest.silence import silence
from config.dates import parse_when
from config.errors import TgmonError
from storage.digest_queries import (
    ChannelActivity,
    DeletedPost,
    DigestLimits,
    DigestMaterial,
    EditedPost,
    HourCount,
    Period,
    TopPost,
    gather_material,
)
from storage.models import CapturePath, Channel, Post, StoredPost
from storage.posts import mark_deleted, save_posts

RYBAR = Channel(1001, "rybar", "Рыбарь")
MAJORS = Channel(1002, "dva_majors", "Два майора")
HIDDEN = Channel(1003, None, None)
T0 = datetime(2024, 3, 12, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))
MSK = ZoneInfo("Europe/Moscow")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def stored(ch: Channel, mid: int, at: datetime, text: str = "", **kw) -> StoredPost:
    deleted_at = kw.pop("deleted_at", None)
    return StoredPost(Post(ch.channel_id, mid, at, text, **kw), ch, CapturePath.LIVE, at, at,
                      deleted_at=deleted_at)


def activity(ch: Channel, posts: int = 0, last: datetime | None = None, last_id: int | None = None,
             gaps: int = 0, usual: timedelta | None = None) -> ChannelActivity:
    return ChannelActivity(ch, posts, last, last_id, gaps, usual)


def material(**kw) -> DigestMaterial:
    base = dict(period=DAY, limits=DigestLimits(), channels=(), hourly=(), top_posts=(),
                edits=(), edits_total=0, deletions=(), deletions_total=0)
    base.update(kw)
    return DigestMaterial(**base)


# ---- excerpts and edits --------------------------------------------------------

def test_excerpt_is_one_line_cut_on_a_word_with_an_ellipsis():
    text = "Первая строка\n\nвторая\tстрока   и ещё очень длинный хвост текста"
    assert one_line(text) == "Первая строка вторая строка и ещё очень длинный хвост текста"
    cut = shorten(text, 30)
    assert cut == "Первая строка вторая строка и…"
    assert len(cut) <= 30 and "\n" not in cut
    assert shorten("короткий", 30) == "короткий"
    assert shorten("Сверхдлинноеслово" * 5, 10) == "Сверхдлин…"      # no space: cut mid-word
    assert excerpt("", 50, "photo") == "[photo]"
    assert excerpt("  \n ", 50) == "[no text]"
    assert one_line("a\u200bb\x00c\u2028d") == "a b c d"


def test_word_changes_say_what_an_edit_changed():
    changes, more = word_changes("В Курской области 5 погибших и 3 раненых",
                                 "В Курской области 7 погибших и 3 раненых, данные уточняются")
    assert [(c.before, c.after) for c in changes] == [
        ("5", "7"), ("раненых", "раненых, данные уточняются")]
    assert more == 0
    changes, more = word_changes("a b c d e f g h", "A b C d E f G h", limit=2)
    assert [(c.before, c.after) for c in changes] == [("a", "A"), ("c", "C")]
    assert more == 2
    (c,), _ = word_changes("удалю это слово", "удалю слово")
    assert (c.before, c.after) == ("это", "")


# ---- building --------------------------------------------------------------------

def test_channels_busiest_first_with_views_then_forwards_top_posts():
    m = material(
        channels=(activity(RYBAR, 3, h(5), 3), activity(MAJORS, 9, h(6), 9),
                  activity(HIDDEN, 0, h(-50), 44)),
        top_posts=(TopPost(stored(RYBAR, 2, h(2), "по просмотрам", views=900), 1, None),
                   TopPost(stored(RYBAR, 1, h(1), "по репостам", views=10, forwards=70), None, 1),
                   TopPost(stored(RYBAR, 3, h(3), "оба", views=100, forwards=7), 2, 2)),
    )
    d = build_digest(m)
    assert [c.channel for c in d.channels] == [MAJORS, RYBAR, HIDDEN]
    rybar = d.channels[1]
    assert [p.message_id for p in rybar.top] == [2, 3, 1]
    assert rybar.top[0].url == "https://t.me/rybar/2"
    assert rybar.url == "https://t.me/rybar"
    hidden = d.channels[2]
    assert hidden.url == "https://t.me/c/1003/44"          # no username: its latest post
    assert channel_label(HIDDEN) == "1003"
    assert d.total_posts == 12


def test_edits_and_deletions_link_to_their_posts_and_group_by_channel():
    m = material(
        channels=(activity(RYBAR, 5), activity(MAJORS, 1)),
        edits=(EditedPost(stored(MAJORS, 7, h(1), "Сейчас: 7", views=1000), "Было: 5", "Сейчас: 7",
                          None, None, 1, h(2)),
               EditedPost(stored(RYBAR, 4, h(1), "новый текст", views=5), "старый текст",
                          "новый текст", "photo", "video", 3, h(3))),
        edits_total=5,
        deletions=(DeletedPost(stored(RYBAR, 9, h(1), "архивный текст", views=3,
                                      deleted_at=h(4))),),
        deletions_total=1,
    )
    d = build_digest(m)
    assert [e.post.channel for e in d.edits] == [RYBAR, MAJORS]    # channel order, not views
    rybar_edit = d.edits[0]
    assert rybar_edit.edits == 3 and rybar_edit.media_change == ("photo", "video")
    assert [(c.before, c.after) for c in rybar_edit.changes] == [("старый", "новый")]
    assert d.edits[1].post.url == "https://t.me/dva_majors/7"
    (gone,) = d.deletions
    assert gone.post.url == "https://t.me/rybar/9" and gone.post.excerpt == "архивный текст"
    assert gone.deleted_at == h(4) and gone.post.deleted
    text = render_text(d, UTC)
    assert "… and 3 more edited posts" in text
    assert "media: photo → video" in text


def test_hours_and_activity_cover_every_hour_of_the_period():
    period = Period(h(0.5), h(3.25))
    assert [x.hour for x in hour_starts(period)] == [0, 1, 2, 3]
    kolkata = Period(h(0.5).astimezone(ZoneInfo("Asia/Kolkata")), h(3.25))
    assert kolkata.start.tzinfo is UTC and hour_starts(kolkata) == hour_starts(period)
    m = material(period=period, channels=(activity(RYBAR, 3), activity(MAJORS, 0)),
                 hourly=(HourCount(RYBAR.channel_id, h(0), 1),
                         HourCount(RYBAR.channel_id, h(3), 2)))
    d = build_digest(m)
    assert [(a.channel, a.counts) for a in d.activity] == [(RYBAR, (1, 0, 0, 2))]


# ---- silence -------------------------------------------------------------------

def test_silent_when_much_longer_than_the_usual_pause():
    hourly = activity(RYBAR, 0, h(14), 50, gaps=200, usual=timedelta(hours=1))
    assert silence(hourly, h(24)) == timedelta(hours=10)  # 10 h >= max(2 x 1 h, 6 h)
    assert silence(hourly, h(19)) is None                  # 5 h: under the 6 h floor
    daily = activity(MAJORS, 0, h(-30), 9, gaps=30, usual=timedelta(hours=20))
    assert silence(daily, h(24)) == timedelta(hours=54)    # 54 h >= 2 x 20 h
    assert silence(replace(daily, last_post=h(-10)), h(24)) is None    # 34 h < 40 h
    few = activity(HIDDEN, 0, h(-100), 1, gaps=3, usual=timedelta(hours=1))
    assert silence(few, h(24)) is None                     # too little history to judge
    never = activity(HIDDEN)
    assert silence(never, h(24)) is None


def test_unreadable_channels_are_listed_and_never_also_silent():
    m = material(channels=(activity(RYBAR, 0, h(2), 5, gaps=100, usual=timedelta(hours=1)),
                           activity(MAJORS, 0, h(2), 8, gaps=100, usual=timedelta(hours=1))))
    d = build_digest(m, unreadable=[(RYBAR, "CHANNEL_PRIVATE: the channel became private")])
    assert [s.channel for s in d.silent] == [MAJORS]
    assert d.silent[0].url == "https://t.me/dva_majors/8"
    (u,) = d.unreadable
    assert u.channel == RYBAR and u.url == "https://t.me/rybar" and "private" in u.reason


# ---- rules -----------------------------------------------------------------------

def test_rule_tally_counts_and_keeps_the_most_viewed():
    posts = [stored(RYBAR, i, h(i), f"Тёткино {i}", views=v)
             for i, v in enumerate([5, 50, None, 500, 50])]
    hits = tally_rules([("Тёткино", lambda sp: "Тёткино" in sp.post.text),
                        ("ничего", lambda sp: False)], posts, top=3)
    assert [r.matches for r in hits] == [5, 0]
    assert [sp.post.message_id for sp in hits[0].top] == [3, 1, 4]   # ties: the earlier first
    assert hits[1].top == ()
    tally = RuleTally(["x"], top=0)
    tally.add(0, posts[0])
    assert tally.result()[0].matches == 1 and tally.result()[0].top == ()


def test_rules_section_only_with_a_subscriber():
    m = material(channels=(activity(RYBAR, 1),))
    assert build_digest(m).rules is None
    hits = tally_rules([("Тёткино OR Tyotkino", lambda sp: True)],
                       [stored(RYBAR, 1, h(1), "бой у Тёткино", views=10)])
    d = build_digest(m, rules=hits)
    assert d.rules is not None
    (rule,) = d.rules
    assert rule.label == "Тёткино OR Tyotkino" and rule.matches == 1
    assert rule.top[0].url == "https://t.me/rybar/1"
    assert "Тёткино OR Tyotkino" in render_text(d, UTC)


# ---- time zones, formats -----------------------------------------------------------

def test_times_are_shown_in_the_reader_time_zone():
    late = h(23.5)                                              # 23:30 UTC on 12 March
    assert fmt_time(late, MSK) == "13 Mar 02:30"
    m = material(channels=(activity(RYBAR, 1, late, 1),),
                 top_posts=(TopPost(stored(RYBAR, 1, late, "ночной пост", views=1), 1, None),))
    d = build_digest(m)
    assert "13 Mar 02:30" in render_text(d, MSK)
    assert "12 Mar 23:30" in render_text(d, UTC)
    assert "12 Mar 2024 03:00 – 13 Mar 2024 03:00 (Europe/Moscow)" in render_text(d, MSK)


def test_number_and_duration_formats():
    assert [fmt_count(n) for n in (0, 999, 1000, 1250, 12_345, 999_999, 1_250_000)] == \
        ["0", "999", "1K", "1.2K", "12K", "999K", "1.2M"]
    assert [fmt_span(timedelta(minutes=m)) for m in (0, 45, 60, 600, 47 * 60, 50 * 60, 72 * 60)] \
        == ["1 min", "45 min", "1 h", "10 h", "47 h", "2 d 2 h", "3 d"]


# ---- periods -------------------------------------------------------------------------

def test_scheduled_period_is_since_the_previous_digest_at_most_seven_days():
    now = h(8)
    assert period_since(None, now) == Period(now - timedelta(hours=24), now)
    assert period_since(h(-3), now) == Period(h(-3), now)
    assert period_since(now - timedelta(days=30), now) == Period(now - MAX_PERIOD, now)
    assert period_since(now, now).end == now                  # asked twice: still valid


def test_requested_period_parses_dates_and_caps_to_seven_days():
    now = h(10)
    assert requested_period(None, None, now).period == Period(now - timedelta(hours=24), now)
    one_day = requested_period("2024-03-12", "2024-03-12", now).period
    assert one_day == Period(T0, T0 + timedelta(days=1))      # --until DATE: the whole day
    iso = requested_period("2024-03-12T08:00+03:00", "2024-03-12T12:00Z", now).period
    assert iso == Period(h(5), h(12) + timedelta(seconds=1))  # --until TIME: that second too
    assert parse_when("2024-03-12T08:00", "--since") == h(8)      # naive = UTC
    asked = requested_period("2024-02-01", "2024-03-12", now)
    assert asked.period == Period(T0 + timedelta(days=1) - MAX_PERIOD, T0 + timedelta(days=1))
    assert asked.capped_from == datetime(2024, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(("since", "until", "message"), [
    ("yesterday", None, "--since 'yesterday' is not a date"),
    ("2024-02-30", None, "--since '2024-02-30' is not a date"),
    ("2024-03-12", "2024-03-11", "the period is empty"),
    ("2024-03-12T10:00:05", "2024-03-12T10:00", "the period is empty"),
])
def test_bad_periods_are_clear_errors(since, until, message):
    with pytest.raises(TgmonError, match=message):
        requested_period(since, until, h(30))


# ---- determinism, end to end over a real log -----------------------------------

async def fill_log(db):
    await save_posts(db, [Post(RYBAR.channel_id, i, h(i / 3), f"Сводка №{i}: Тёткино <b>&",
                               views=(i * 37) % 11 * 100, forwards=(i * 13) % 5)
                          for i in range(1, 60)], CapturePath.LIVE, h(-1), channel=RYBAR)
    await save_posts(db, [Post(MAJORS.channel_id, i, h(i / 2), f"Пост {i}", views=100)
                          for i in range(1, 30)], CapturePath.LIVE, h(-1), channel=MAJORS)
    await save_posts(db, [Post(RYBAR.channel_id, 5, h(5 / 3), "Сводка №5: уточнено",
                               edit_date=h(3))], CapturePath.LIVE, h(3))
    async with db.transaction() as conn:
        await mark_deleted(conn, MAJORS.channel_id, [3, 4], h(6))


async def test_same_log_and_period_give_the_same_digest(db):
    await fill_log(db)
    first = build_digest(await gather_material(db, DAY), style=DigestStyle())
    second = build_digest(await gather_material(db, DAY), style=DigestStyle())
    assert first == second
    assert render_telegram(first, MSK) == render_telegram(second, MSK)
    assert render_text(first, MSK) == render_text(second, MSK)
    assert first.edits_total == 1 and first.deletions_total == 2
    assert first.total_posts == 59 + 29


async def test_prepare_digest_gathers_matches_rules_and_renders(db):
    from digest_helpers import DigestRule, prepare_digest

    await fill_log(db)
    rules = [DigestRule("Тёткино", lambda sp: "Тёткино" in sp.post.text),
             DigestRule("Пост 1", lambda sp: sp.post.text.startswith("Пост 1"))]
    ready = await prepare_digest(db, DAY, MSK, channel_ids=[RYBAR.channel_id, MAJORS.channel_id],
                                 rules=rules, unreadable=[(MAJORS, "FloodWait")], chart=False)
    d = ready.digest
    assert d.rules is not None
    assert [(r.label, r.matches) for r in d.rules] == [("Тёткино", 58), ("Пост 1", 11)]
    assert [u.channel for u in d.unreadable] == [MAJORS]
    assert ready.chart_png is None and "Posts per hour" in ready.chart_caption
    assert ready.messages == tuple(render_telegram(d, MSK))
    assert any("Your rules" in m for m in ready.messages)
