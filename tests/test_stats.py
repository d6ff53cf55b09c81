"""Per-channel stats: counts, dates and message-id holes (never-seen ids), as ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storekit import summarise_holes

from bot.cli.stats import format_stats, stats_json
from storage.channels import save_channel
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, note_absent, save_posts
from storage.stats import ChannelStats, Holes, IdRange, channel_stats, log_stats

RYBAR = Channel(1001, "rybar", "Рыбарь")
PRIVATE = Channel(2002, None, "Закрытый")
T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


async def store(db, channel, ids, **kw):
    posts = [Post(channel.channel_id, mid, T0 + timedelta(minutes=mid), f"пост {mid}", **kw)
             for mid in ids]
    await save_posts(db, posts, CapturePath.LIVE, T0, channel=channel)


def test_id_ranges_print_compactly():
    assert str(IdRange(105, 117)) == "105-117" and IdRange(105, 117).size == 13
    assert str(IdRange(7, 7)) == "7" and IdRange(7, 7).size == 1


def test_summarise_keeps_only_the_first_ranges_but_counts_all():
    ranges = (IdRange(i * 10, i * 10 + 2) for i in range(1, 1001))
    holes = summarise_holes(ranges, keep=3)
    assert holes == Holes(3000, 1000, (IdRange(10, 12), IdRange(20, 22), IdRange(30, 32)))
    assert holes.more == 997
    assert summarise_holes([]) == Holes()


async def test_stats_of_a_channel(db):
    await store(db, RYBAR, [1, 2, 5, 6, 10, 11])
    await save_posts(db, [Post(1001, 6, T0 + timedelta(minutes=6), "правка",
                               edit_date=T0 + timedelta(hours=1))],
                     CapturePath.LIVE, T0 + timedelta(hours=1))
    async with db.transaction() as conn:
        await note_absent(conn, 1001, [3], "service", T0)
        await mark_deleted(conn, 1001, [11, 12], T0 + timedelta(hours=2))
    s = await channel_stats(db, RYBAR)
    assert s == ChannelStats(
        channel=RYBAR, posts=6, first_date=T0 + timedelta(minutes=1),
        last_date=T0 + timedelta(minutes=11), first_message_id=1, last_message_id=11,
        edited=1, with_versions=1, deleted=1, absent=2,
        # 3 is a service message and 12 was noted deleted: not holes
        holes=Holes(4, 2, (IdRange(4, 4), IdRange(7, 9))))


async def test_huge_holes_are_ranges_not_lists(db):
    await store(db, RYBAR, [1, 1_000_000])
    s = await channel_stats(db, RYBAR)
    assert s.holes == Holes(999_998, 1, (IdRange(2, 999_999),))


async def test_many_holes_show_the_first_ranges(db):
    await store(db, RYBAR, range(1, 200, 2))          # every other id missing
    s = await channel_stats(db, RYBAR, keep=2)
    assert (s.holes.count, s.holes.range_count) == (99, 99)
    assert s.holes.ranges == (IdRange(2, 2), IdRange(4, 4))


async def test_holes_before_the_first_known_id_are_not_counted(db):
    await store(db, RYBAR, [5000, 5001, 5003])
    s = await channel_stats(db, RYBAR)
    assert s.first_message_id == 5000 and s.holes == Holes(1, 1, (IdRange(5002, 5002),))


async def test_channel_without_posts_and_filter(db):
    await store(db, RYBAR, [1, 3])
    await save_channel(db, PRIVATE, T0)
    every = await log_stats(db)
    assert [s.channel.channel_id for s in every] == [1001, 2002]
    empty = every[1]
    assert (empty.posts, empty.first_date, empty.last_message_id, empty.holes) == \
        (0, None, None, Holes())
    only = await log_stats(db, [2002])
    assert [s.channel for s in only] == [PRIVATE]


async def test_formatting_is_separate_and_pure(db):
    await store(db, RYBAR, [1, 2, 5, *range(10, 20, 2)])
    await save_channel(db, PRIVATE, T0)
    stats = await log_stats(db, keep=2)
    table = format_stats(stats)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["channel", "posts"]
    assert lines[1].split()[:4] == ["@rybar", "8", "2024-03-12", "05:01"]
    assert lines[2].split()[0] == "2002"
    assert lines[-1] == "holes in @rybar: 10 ids in 6 ranges: 3-4, 6-9 (+4 more ranges)"
    assert format_stats([]) == "The log holds no channel yet."
    data = stats_json(stats)
    assert data[0]["channel"] == "rybar" and data[0]["holes"] == 10
    assert data[0]["first_hole_ranges"] == ["3-4", "6-9"]
    assert data[1]["channel"] == "2002" and data[1]["first_date"] is None
