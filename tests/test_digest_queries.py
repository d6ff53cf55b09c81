"""A period's material comes from the log: counts, top posts, edits, deletions, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.digest_queries import (
    DigestLimits,
    Period,
    gather_material,
    stream_period_posts,
)
from storage.models import CapturePath, Channel, Media, Post
from storage.posts import mark_deleted, save_posts

RYBAR = Channel(1001, "rybar", "Рыбарь")
MAJORS = Channel(1002, "dva_majors", "Два майора")
T0 = datetime(2024, 3, 12, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))


def post(ch: Channel, mid: int, at: datetime, text: str = "", **kw) -> Post:
    return Post(channel_id=ch.channel_id, message_id=mid, date=at, text=text, **kw)


async def put(db, ch, posts, seen=T0):
    await save_posts(db, posts, CapturePath.LIVE, seen, channel=ch)


async def delete(db, ch, ids, at):
    async with db.transaction() as conn:
        await mark_deleted(conn, ch.channel_id, ids, at)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def test_counts_per_channel_and_hour_cover_exactly_the_period(db):
    await put(db, RYBAR, [
        post(RYBAR, 1, h(-0.01), "before the period"),
        post(RYBAR, 2, h(0), "first second of the period"),
        post(RYBAR, 3, h(1.2)), post(RYBAR, 4, h(1.9)),
        post(RYBAR, 5, h(23.99)),
        post(RYBAR, 6, h(24), "the end is exclusive"),
    ])
    await put(db, MAJORS, [post(MAJORS, 1, h(5))])
    m = await gather_material(db, DAY)
    counts = {a.channel.username: a.posts for a in m.channels}
    assert counts == {"rybar": 4, "dva_majors": 1}
    hourly = {(x.channel_id, x.hour.hour): x.posts for x in m.hourly}
    assert hourly == {(1001, 0): 1, (1001, 1): 2, (1001, 23): 1, (1002, 5): 1}
    rybar = next(a for a in m.channels if a.channel == RYBAR)
    assert rybar.last_post == h(23.99).replace(microsecond=0)
    assert rybar.last_message_id == 5


async def test_top_posts_by_views_and_by_forwards_with_stable_ties(db):
    await put(db, RYBAR, [
        post(RYBAR, 1, h(1), "a", views=100, forwards=0),
        post(RYBAR, 2, h(2), "b", views=500, forwards=1),
        post(RYBAR, 3, h(3), "c", views=500, forwards=9),   # same views as 2: 2 wins (earlier)
        post(RYBAR, 4, h(4), "d", views=50, forwards=40),
        post(RYBAR, 5, h(5), "e", views=None, forwards=None),
        post(RYBAR, 6, h(30), "outside", views=10_000, forwards=10_000),
    ])
    m = await gather_material(db, DAY, limits=DigestLimits(top_posts=2))
    ranks = {t.stored.post.message_id: (t.views_rank, t.forwards_rank) for t in m.top_posts}
    assert ranks == {2: (1, None), 3: (2, 2), 4: (None, 1)}


async def test_views_unknown_never_rank_and_zero_forwards_never_rank(db):
    await put(db, RYBAR, [post(RYBAR, 1, h(1), "x", views=None, forwards=0),
                          post(RYBAR, 2, h(2), "y", views=None, forwards=None)])
    m = await gather_material(db, DAY)
    # no view counts at all (as in imported exports): by engagement, here none, so by time
    ranks = {t.stored.post.message_id: (t.views_rank, t.forwards_rank, t.engagement_rank)
             for t in m.top_posts}
    assert ranks == {1: (None, None, 1), 2: (None, None, 2)}
    assert m.channels[0].posts == 2


async def test_an_album_is_one_top_post_with_its_caption(db):
    album = 777
    await put(db, RYBAR, [
        post(RYBAR, 10, h(2), "", views=900, media=Media("photo"), grouped_id=album),
        post(RYBAR, 11, h(2), "Подпись альбома", views=900, media=Media("photo"),
             grouped_id=album),
        post(RYBAR, 12, h(2), "", views=900, media=Media("photo"), grouped_id=album),
        post(RYBAR, 13, h(3), "single", views=800),
    ])
    m = await gather_material(db, DAY)
    assert m.channels[0].posts == 4                  # messages, as Telegram counts them
    top = {t.stored.post.message_id: t for t in m.top_posts}
    assert set(top) == {10, 13}
    assert top[10].album_size == 3
    assert top[10].stored.post.text == "Подпись альбома"
    assert top[10].views_rank == 1 and top[13].views_rank == 2


async def test_edits_in_the_period_with_the_text_before_and_after(db):
    await put(db, RYBAR, [post(RYBAR, 1, h(-30), "Старый пост: 5 погибших", views=10),
                          post(RYBAR, 2, h(1), "Новый пост", views=20),
                          post(RYBAR, 3, h(1), "Правка до периода", views=30)],
              seen=h(-2))
    # An edit seen before the period does not count, even of a post in the period.
    await put(db, RYBAR, [post(RYBAR, 3, h(1), "Правка до периода!", edit_date=h(1.5))],
              seen=h(-1))
    # Two edits of an old post seen in the period: before = the version before the first.
    await put(db, RYBAR, [post(RYBAR, 1, h(-30), "Старый пост: 7 погибших",
                               edit_date=h(2))], seen=h(2))
    await put(db, RYBAR, [post(RYBAR, 1, h(-30), "Старый пост: 8 погибших",
                               edit_date=h(5))], seen=h(5))
    await put(db, RYBAR, [post(RYBAR, 2, h(1), "Новый пост, дополнен", edit_date=h(26))],
              seen=h(26))
    m = await gather_material(db, DAY)
    assert m.edits_total == 1
    (e,) = m.edits
    assert e.stored.post.message_id == 1
    assert (e.before, e.after, e.edits) == ("Старый пост: 5 погибших", "Старый пост: 8 погибших", 2)
    assert e.last_seen == h(5)


async def test_deletions_in_the_period_keep_the_archived_text(db):
    await put(db, RYBAR, [post(RYBAR, 1, h(-40), "Удалённый старый пост", views=5),
                          post(RYBAR, 2, h(1), "Удалён в периоде", views=50),
                          post(RYBAR, 3, h(1), "Удалён после", views=500)])
    await delete(db, RYBAR, [1, 2], h(3))
    await delete(db, RYBAR, [3], h(25))
    m = await gather_material(db, DAY)
    assert m.deletions_total == 2
    got = {d.stored.post.message_id: d for d in m.deletions}
    assert set(got) == {1, 2}
    assert got[1].stored.post.text == "Удалённый старый пост"
    assert got[1].stored.deleted_at == h(3)
    assert got[1].stored.url == "https://t.me/rybar/1"


async def test_a_deleted_album_is_listed_once_and_limits_keep_the_total(db):
    await put(db, RYBAR, [post(RYBAR, i, h(1), "Подпись" if i == 2 else "", views=10,
                               media=Media("photo"), grouped_id=55) for i in (1, 2, 3)]
              + [post(RYBAR, 4, h(1), "одиночный", views=99)])
    await delete(db, RYBAR, [1, 2, 3, 4], h(2))
    m = await gather_material(db, DAY)
    assert m.deletions_total == 2
    album = next(d for d in m.deletions if d.stored.post.message_id == 1)
    assert album.album_size == 3 and album.stored.post.text == "Подпись"
    few = await gather_material(db, DAY, limits=DigestLimits(deletions=1, edits=0))
    assert [d.stored.post.message_id for d in few.deletions] == [4]     # the most viewed
    assert few.deletions_total == 2
    none = await gather_material(db, DAY, limits=DigestLimits(deletions=0))
    assert none.deletions == () and none.deletions_total == 2


async def test_only_the_chosen_channels(db):
    await put(db, RYBAR, [post(RYBAR, 1, h(1), "r", views=1)])
    await put(db, MAJORS, [post(MAJORS, 1, h(1), "m", views=1)])
    await delete(db, MAJORS, [1], h(2))
    m = await gather_material(db, DAY, [RYBAR.channel_id, 999])
    assert [a.channel for a in m.channels] == [RYBAR]
    assert {x.channel_id for x in m.hourly} == {RYBAR.channel_id}
    assert m.deletions_total == 0


async def test_usual_gap_comes_from_the_weeks_before_the_period(db):
    # Hourly for two days before the period, then every 15 minutes inside it.
    before = [post(RYBAR, i, h(-48 + i)) for i in range(48)]
    inside = [post(RYBAR, 100 + i, h(i / 4)) for i in range(8)]
    await put(db, RYBAR, before + inside)
    m = await gather_material(db, DAY)
    (a,) = m.channels
    assert a.gaps == 47
    assert a.usual_gap == timedelta(hours=1)
    short = await gather_material(db, DAY, limits=DigestLimits(lookback=timedelta(hours=5)))
    assert short.channels[0].gaps == 4


async def test_the_95th_percentile_ignores_one_long_outage(db):
    times = [h(-200 + i) for i in range(40)] + [h(-100 + i) for i in range(60)]
    await put(db, RYBAR, [post(RYBAR, i, t) for i, t in enumerate(times)])
    (a,) = (await gather_material(db, DAY)).channels
    assert a.gaps == 99
    assert a.usual_gap == timedelta(hours=1)        # not the 61-hour outage


async def test_stream_period_posts_in_order(db):
    await put(db, RYBAR, [post(RYBAR, 2, h(2), "b"), post(RYBAR, 1, h(1), "a"),
                          post(RYBAR, 3, h(25), "later")])
    await put(db, MAJORS, [post(MAJORS, 9, h(1), "m")])
    got = [(sp.channel.username, sp.post.message_id)
           async for sp in stream_period_posts(db, DAY)]
    assert got == [("rybar", 1), ("dva_majors", 9), ("rybar", 2)]
    only = [sp.post.text async for sp in stream_period_posts(db, DAY, [MAJORS.channel_id])]
    assert only == ["m"]


def test_a_period_must_be_aware_and_not_empty():
    with pytest.raises(ValueError):
        Period(T0, T0)
    with pytest.raises(ValueError):
        Period(T0.replace(tzinfo=None), T0 + timedelta(hours=1))
