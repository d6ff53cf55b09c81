"""Dates in digests carry the year when it is not the current one (the digest's own
year: that of its period's end, or the year now for `tgmon digest`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.build import build_digest
from bot.digest.layout import fmt_time
from bot.digest.render_telegram import render_telegram
from bot.digest.render_text import render_text
from storage.digest_queries import Period, gather_material
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, save_posts

MSK = ZoneInfo("Europe/Moscow")
RYBAR = Channel(1001, "rybar", "Рыбарь")
T0 = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)          # 03:00 on New Year's Day in Moscow


def test_fmt_time_adds_the_year_only_when_it_is_another_one():
    late = datetime(2023, 12, 31, 20, 30, tzinfo=UTC)  # 23:30 in Moscow, still 2023
    assert fmt_time(late, MSK) == "31 Dec 23:30"
    assert fmt_time(late, MSK, year=2023) == "31 Dec 23:30"
    assert fmt_time(late, MSK, year=2024) == "31 Dec 2023 23:30"
    assert fmt_time(late + timedelta(hours=1), MSK, year=2024) == "1 Jan 00:30"


async def test_an_old_post_deleted_in_the_period_shows_its_year(db):
    old = Post(RYBAR.channel_id, 7, datetime(2023, 11, 5, 9, 0, tzinfo=UTC), "старый пост")
    new = Post(RYBAR.channel_id, 8, T0 + timedelta(hours=2), "новый пост", views=10)
    await save_posts(db, [old, new], CapturePath.LIVE, T0, channel=RYBAR)
    async with db.transaction() as conn:
        await mark_deleted(conn, RYBAR.channel_id, [7], T0 + timedelta(hours=3))
    digest = build_digest(await gather_material(db, Period(T0, T0 + timedelta(days=1))))
    text = render_text(digest, MSK)
    assert "5 Nov 2023 12:00" in text                       # the deleted post's date
    assert "1 Jan 05:00" in text and "1 Jan 2024 05:00" not in text   # this year's
    assert "5 Nov 2023 12:00" in "".join(render_telegram(digest, MSK))
    # seen from 2026 (tgmon digest of an old period): every date carries its year
    assert "1 Jan 2024 05:00" in render_text(digest, MSK, year=2026)
