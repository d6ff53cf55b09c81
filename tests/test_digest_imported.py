"""Digests over imported posts: Telegram Desktop exports carry no view counts, so a
channel's top posts are ranked by forwards, replies and reactions, and with none of
those either, the period's posts are shown in time order."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from clikit import cli

from bot.digest.build import build_digest
from bot.digest.render_text import render_text
from storage.digest_queries import Period, gather_material
from storage.models import CapturePath, Channel, Post, Reaction
from storage.posts import save_posts
from tests.exportkit import CHANNEL

T0 = datetime(2024, 3, 12, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))
ARCHIVE = Channel(2001, "archive_chan", "Архив")
QUIET = Channel(2002, "quiet_chan", "Тихий")
LIVE = Channel(2003, "live_chan", "Живой")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def store(db, channel, posts, via=CapturePath.IMPORT):
    await save_posts(db, posts, via, T0, channel=channel)


async def digest_of(db):
    return build_digest(await gather_material(db, DAY))


async def test_without_views_posts_rank_by_forwards_replies_then_reactions(db):
    cid = ARCHIVE.channel_id
    await store(db, ARCHIVE, [
        Post(cid, 1, at(1), "первый: ничего"),
        Post(cid, 2, at(2), "второй: реакции", reactions=(Reaction("🔥", 40), Reaction("👍", 5))),
        Post(cid, 3, at(3), "третий: ответы", replies=7),
        Post(cid, 4, at(4), "четвёртый: пересылки", forwards=2),
        Post(cid, 5, at(5), "пятый: ответы и реакции", replies=7, reactions=(Reaction("👍", 1),)),
        Post(cid, 6, at(6), "шестой: ничего"),
    ])
    digest = await digest_of(db)
    [summary] = digest.channels
    assert [p.message_id for p in summary.top] == [4, 5, 3]
    assert summary.ranked_by == "engagement"
    text = render_text(digest, ZoneInfo("UTC"))
    assert "no view counts: top posts by forwards, replies and reactions" in text
    assert "четвёртый: пересылки" in text and "2 fwd" in text and "7 replies" in text


async def test_without_any_counts_the_periods_posts_come_in_time_order(db):
    cid = QUIET.channel_id
    await store(db, QUIET, [Post(cid, i, at(i), f"пост {i}") for i in (5, 1, 4, 2, 3)])
    digest = await digest_of(db)
    [summary] = digest.channels
    assert [p.message_id for p in summary.top] == [1, 2, 3]       # the first, in time order
    assert summary.ranked_by == "time"
    assert "no view or engagement counts: the period's first posts, in time order" in \
        render_text(digest, ZoneInfo("UTC"))


async def test_channels_with_views_keep_the_usual_ranking(db):
    cid = LIVE.channel_id
    await store(db, LIVE, [Post(cid, 1, at(1), "мало", views=10, reactions=(Reaction("🔥", 99),)),
                           Post(cid, 2, at(2), "много", views=500)], via=CapturePath.LIVE)
    digest = await digest_of(db)
    [summary] = digest.channels
    assert [p.message_id for p in summary.top] == [2, 1]
    assert summary.ranked_by == "views"
    assert "no view counts" not in render_text(digest, ZoneInfo("UTC"))


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def test_a_digest_of_an_imported_export_lists_posts(capsys, tmp_path, clean_env):
    db = tmp_path / "log.db"
    assert cli(capsys, "import", str(CHANNEL), "--username", "tgmon_fixture",
               "--db", str(db))[0] == 0
    code, out, err = cli(capsys, "digest", "--db", str(db), "--since", "2024-03-11",
                         "--until", "2024-03-11")
    assert code == 0, err
    assert "11 posts" in out
    lines = [line for line in out.splitlines() if "t.me/tgmon_fixture/" in line]
    # message 6 has 45 reactions, 4 has 17; the rest none: then the first by time (5)
    assert [line.rsplit("/", 1)[1] for line in lines][:3] == ["6", "4", "5"]
