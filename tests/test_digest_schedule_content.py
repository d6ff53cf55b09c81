"""What a scheduled digest holds when it reaches a person: split into messages within
Telegram's limits and in order, escaped, every post line linked, with the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest_helpers import ANNA, compose, people, seed, settings, without_watcher
from telethon import types
from telethon.extensions import html as telethon_html

from bot.digest.layout import BULLET
from storage.digest_queries import Period
from storage.models import Channel, Post, utf16_len
from storage.subscriptions import add_rule

T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
CHANNELS = [Channel(1000 + i, f"chan{i:02d}x", f"Канал <b>{i}</b> & co") for i in range(60)]


def busy_day() -> list[Post]:
    """300 posts in 60 channels, with HTML-looking text and long lines."""
    posts = []
    for c in CHANNELS:
        for k in range(5):
            n = c.channel_id * 10 + k
            text = (f"<script>alert({n})</script> & Тёткино: обстрел в {k + 1}-й раз за утро, "
                    + "подробности в канале, " * 12)
            posts.append(Post(c.channel_id, n, T0 - timedelta(hours=5, minutes=7 * k + 1),
                              text, views=1000 + n))
    return posts


def test_a_busy_day_is_split_escaped_linked_and_charted(sim):
    who = people(sim)
    s = settings(sim)

    async def body():
        await seed(s, sim.now(), channels=CHANNELS, posts=busy_day())
        async with sim.running(components=without_watcher, settings=s) as (_app, rt):
            await sim.ask(who[ANNA], "/start")
            await add_rule(rt.db, ANNA, "Тёткино", ANNA, sim.now())
            sim.world.user_writes(who[ANNA], "/digest now")
            await sim.until(lambda: any(m.file for m in sim.world.sent_by_bot(ANNA)), timeout=600)
            asked_at = sim.now().replace(second=0, microsecond=0)
            # the same log and period give the same digest: rebuild it to compare
            rebuilt = await compose(rt.db, s, ANNA, None, Period(asked_at - timedelta(hours=24),
                                                                 asked_at))
        return rebuilt

    rebuilt = sim.run(body)
    sent = sim.world.sent_by_bot(ANNA)[1:]                 # after the answer to /start
    *texts, chart = sent
    expected = [telethon_html.parse(h)[0] for h in rebuilt.prepared.messages]
    assert len(expected) >= 3
    assert [m.text for m in texts] == expected             # all of it, in order
    assert all(utf16_len(m.text) <= 4096 for m in texts)
    assert texts[0].text.startswith("tgmon digest\n")
    assert "300 posts in 60 channels" in texts[0].text
    # the chart: a photo named digest.png, the very picture of this digest
    assert chart.file == {"name": "digest.png", "size": len(rebuilt.chart_png)}
    assert isinstance(chart.media, types.MessageMediaPhoto)
    assert chart.text.startswith("Posts per hour, 11 Mar 2024 05:00")
    # post text and channel titles arrive as literal text, not as markup
    everything = "\n".join(m.text for m in texts)
    assert "<script>alert(" in everything and "</script> & Тёткино" in everything
    assert "Канал <b>7</b> & co" in everything
    # the rule is in the digest too
    assert "Your rules" in everything and "Тёткино — 300 matches" in everything
    # every post line links to its post
    post_lines = 0
    for m in texts:
        links = {(e.offset, e.url) for e in m.entities if e.type == "text_link"}
        offset = 0
        for line in m.text.split("\n"):
            if line.startswith(BULLET):
                start = offset + utf16_len(BULLET)
                url = next((u for o, u in links if o == start), None)
                assert url is not None and url.startswith("https://t.me/chan"), line
                post_lines += 1
            offset += utf16_len(line) + 1
    assert post_lines >= 60 * 3
