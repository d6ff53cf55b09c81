"""Rendering: escaped HTML within Telegram's limits as Telethon parses it, the terminal
text, the web page and the chart."""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from digest_helpers import tally_rules
from telethon.extensions import html as telethon_html

from bot.digest.build import DigestStyle, build_digest
from bot.digest.chart import MAX_ROWS, render_chart
from bot.digest.render_page import render_html_page
from bot.digest.render_telegram import (
    CAPTION_LIMIT,
    LIMIT,
    MAX_ENTITIES,
    chart_caption,
    render_telegram,
    utf16_len,
)
from bot.digest.render_text import render_text
from storage.digest_queries import (
    ChannelActivity,
    DeletedPost,
    DigestLimits,
    DigestMaterial,
    HourCount,
    Period,
    TopPost,
)
from storage.models import CapturePath, Channel, Post, StoredPost

T0 = datetime(2024, 3, 12, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))
EVIL = Channel(2001, "evil", "<script>alert(1)</script> & Co")
MSK = ZoneInfo("Europe/Moscow")
URL = re.compile(r'href="([^"]+)"')


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def stored(ch: Channel, mid: int, text: str, *, views: int | None = 10, at: datetime | None = None,
           deleted_at: datetime | None = None) -> StoredPost:
    when = at or h(1)
    return StoredPost(Post(ch.channel_id, mid, when, text, views=views), ch, CapturePath.LIVE,
                      when, when, deleted_at=deleted_at)


def big_material(channels: int = 60, per_channel: int = 5, text: str | None = None,
                 deletions: int = 0) -> DigestMaterial:
    chans = [Channel(3000 + i, f"chan{i}", f"Канал 😀 №{i}") for i in range(channels)]
    top = tuple(TopPost(stored(c, m, text or f"Пост {m} канала {c.title} 🇺🇦 " + "слово " * 30,
                               views=1000 - m), m, None)
                for c in chans for m in range(1, per_channel + 1))
    gone = tuple(DeletedPost(stored(chans[0], 900 + i, f"Удалённый 💥 {i} " + "текст " * 60,
                                    deleted_at=h(2)))
                 for i in range(deletions))
    return DigestMaterial(
        period=DAY, limits=DigestLimits(top_posts=per_channel),
        channels=tuple(ChannelActivity(c, per_channel, h(3), per_channel, 0, None) for c in chans),
        hourly=tuple(HourCount(c.channel_id, h(i % 24), 1) for i, c in enumerate(chans)),
        top_posts=top, edits=(), edits_total=0, deletions=gone, deletions_total=deletions)


def parsed(chunk: str) -> tuple[str, list]:
    text, entities = telethon_html.parse(chunk)
    return text, entities


def assert_within_telegram_limits(chunks: list[str]) -> None:
    for chunk in chunks:
        text, entities = parsed(chunk)
        assert 0 < utf16_len(text) <= LIMIT
        assert len(entities) <= MAX_ENTITIES
        for e in entities:                               # every entity inside the text
            assert e.offset >= 0 and e.offset + e.length <= utf16_len(text)


# ---- escaping --------------------------------------------------------------------

def test_channel_text_and_titles_are_escaped():
    evil = "<script>alert('x')</script> & <b>не жирный</b> &amp; 5 < 6"
    m = DigestMaterial(
        period=DAY, limits=DigestLimits(), channels=(ChannelActivity(EVIL, 1, h(1), 1, 0, None),),
        hourly=(HourCount(EVIL.channel_id, h(1), 1),),
        top_posts=(TopPost(stored(EVIL, 1, evil), 1, None),), edits=(), edits_total=0,
        deletions=(DeletedPost(stored(EVIL, 2, evil, deleted_at=h(2))),), deletions_total=1)
    rules = tally_rules([("<i>rule</i> & co", lambda sp: True)], [stored(EVIL, 1, evil)])
    d = build_digest(m, rules=rules, unreadable=[(EVIL, "reason <with> & tags")])
    (chunk,) = render_telegram(d, UTC)
    assert "<script>" not in chunk and "&lt;script&gt;" in chunk
    assert "<b>не жирный</b>" not in chunk
    text, entities = parsed(chunk)
    # Telethon gives back exactly the characters of the post and the title.
    assert "<script>alert('x')</script> & <b>не жирный</b> &amp; 5 < 6" in text
    assert "<script>alert(1)</script> & Co" in text
    assert "<i>rule</i> & co" in text and "reason <with> & tags" in text
    assert {type(e).__name__ for e in entities} <= {
        "MessageEntityBold", "MessageEntityItalic", "MessageEntityTextUrl"}
    page = render_html_page(d, UTC)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_every_item_links_to_its_source():
    d = build_digest(big_material(channels=3, per_channel=2, deletions=2))
    chunks = render_telegram(d, UTC)
    links = [u for c in chunks for u in URL.findall(c)]
    for c in d.channels:
        assert c.url in links
        assert all(p.url in links for p in c.top)
    assert all(x.post.url in links for x in d.deletions)
    text = render_text(d, UTC)
    assert "https://t.me/chan0/901" in text


# ---- splitting ---------------------------------------------------------------------

def test_a_long_digest_is_split_between_items_within_telegram_limits():
    d = build_digest(big_material(channels=60, per_channel=5, deletions=40))
    chunks = render_telegram(d, MSK)
    assert len(chunks) > 3
    assert_within_telegram_limits(chunks)
    # Every post line comes whole, exactly once: its link and its excerpt in one chunk.
    items = [(p.url, p.excerpt) for c in d.channels for p in c.top] + \
        [(x.post.url, x.post.excerpt) for x in d.deletions]
    for url, excerpt in items:
        holders = [c for c in chunks if f'href="{url}"' in c]
        assert len(holders) == 1, url
        text, _ = parsed(holders[0])
        assert excerpt in text
    # A channel's block (its name and top posts) is never cut in two.
    for c in d.channels:
        holders = {i for i, chunk in enumerate(chunks) for p in c.top if p.url in chunk}
        assert len(holders) == 1
    # A section cut in two says so at the top of the next message.
    assert any(parsed(c)[0].startswith("Channels (continued)") for c in chunks[1:])
    assert parsed(chunks[0])[0].startswith("tgmon digest")


def test_astral_characters_count_two_units():
    assert utf16_len("😀") == 2 and utf16_len("я") == 1 and utf16_len("🇺🇦") == 4
    # Lines of emoji: by Python's count they would fit far more per message.
    emoji = "💥" * 100
    d = build_digest(big_material(channels=40, per_channel=5, text=emoji),
                     style=DigestStyle(excerpt_width=100))
    chunks = render_telegram(d, UTC)
    assert_within_telegram_limits(chunks)
    assert max(utf16_len(parsed(c)[0]) for c in chunks) > max(len(parsed(c)[0]) for c in chunks)


def test_entities_stay_within_telegrams_hundred():
    # Short lines: the 100-entity limit binds long before the length limit.
    d = build_digest(big_material(channels=80, per_channel=5, text="x"))
    chunks = render_telegram(d, UTC)
    assert_within_telegram_limits(chunks)
    assert max(len(parsed(c)[1]) for c in chunks) > 80
    assert max(utf16_len(parsed(c)[0]) for c in chunks) < 2500


def test_an_item_too_long_for_one_message_is_cut_between_its_lines():
    d = build_digest(big_material(channels=1, per_channel=120), style=DigestStyle())
    chunks = render_telegram(d, UTC)
    assert len(chunks) > 2
    assert_within_telegram_limits(chunks)
    texts = [parsed(c)[0] for c in chunks]
    assert all(t.startswith("Channels (continued)") for t in texts[1:])
    lines = [line for t in texts for line in t.split("\n")]
    assert sum(line.startswith("• ") for line in lines) == 120


def test_an_empty_log_still_gives_one_message():
    d = build_digest(DigestMaterial(period=DAY, limits=DigestLimits(), channels=(), hourly=(),
                                    top_posts=(), edits=(), edits_total=0, deletions=(),
                                    deletions_total=0))
    (chunk,) = render_telegram(d, UTC)
    assert "No channels in the log yet." in parsed(chunk)[0]
    assert utf16_len(telethon_html.parse(chart_caption(d, MSK))[0]) <= CAPTION_LIMIT


# ---- the web page and the chart ------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_chart_is_a_png_of_sane_size_and_the_same_for_the_same_digest():
    d = build_digest(big_material(channels=5, per_channel=2))
    png = render_chart(d, MSK)
    width, height = png_size(png)
    assert 600 <= width <= 2000 and 200 <= height <= 3000
    assert render_chart(d, MSK) == png
    assert len(png) < 1_000_000


def test_chart_of_an_empty_period_still_renders():
    d = build_digest(DigestMaterial(period=Period(T0, T0 + timedelta(days=7)),
                                    limits=DigestLimits(), channels=(), hourly=(), top_posts=(),
                                    edits=(), edits_total=0, deletions=(), deletions_total=0))
    assert len(d.hours) == 168
    width, height = png_size(render_chart(d, UTC))
    assert width > 0 and height > 0


def test_chart_with_more_channels_than_rows_groups_the_rest():
    many = build_digest(big_material(channels=MAX_ROWS + 20, per_channel=1))
    few = build_digest(big_material(channels=MAX_ROWS - 1, per_channel=1))
    tall, taller = png_size(render_chart(few, UTC))[1], png_size(render_chart(many, UTC))[1]
    assert abs(tall - taller) < 40          # capped at MAX_ROWS rows, the rest is "others"


def test_html_page_embeds_the_chart_and_links_every_item():
    d = build_digest(big_material(channels=2, per_channel=2, deletions=1))
    png = render_chart(d, UTC)
    page = render_html_page(d, MSK, png)
    assert page.startswith("<!DOCTYPE html>")
    assert 'src="data:image/png;base64,' in page
    for c in d.channels:
        for p in c.top:
            assert f'href="{p.url}"' in page
    assert page.count("<section>") == page.count("</section>") == 2
