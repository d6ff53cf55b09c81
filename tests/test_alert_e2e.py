"""The whole way: a post pushed by the simulated Telegram, captured by the watcher,
dispatched, sent by the bot; and posts missed while tgmon was down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alertkit import ANNA, OLGA, alerts, people, quiet, settings
from capturekit import resolved, until

from bot.app import default_components


def marked(message, kind):
    raw = message.text.encode("utf-16-le")
    return [raw[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
            for e in message.entities if e.type == kind]


async def watching(rt, *usernames):
    for username in usernames:
        await until(lambda u=username: resolved(rt.db, u), timeout=300, step=1.0)


def test_a_pushed_post_its_repost_edit_and_deletion_reach_people(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион «Свобода России»")
    rybar = w.add_channel("rybar", "Рыбарь")
    _admin, anna, _ivan, olga = people(sim)

    async def body():
        async with sim.running(components=default_components, settings=settings(sim)) as (_app, rt):
            await watching(rt, "legionoffreedom", "rybar")
            await sim.ask(anna, "/alert Тёткино OR Tyotkino")
            await sim.ask(anna, "/edits on")
            await sim.ask(olga, "/subscribe rybar")
            post = w.post(legion, "Бои в районе Тёткино, есть раненые")
            await sim.until(lambda: alerts(sim, ANNA))
            [alert] = alerts(sim, ANNA)
            assert alert.text.startswith("📢 Легион «Свобода России» @legionoffreedom")
            assert marked(alert, "bold")[1:] == ["Тёткино"]
            assert "https://t.me/legionoffreedom/1" in [e.url for e in alert.entities]
            # rybar forwards it: Anna's alert names rybar; Olga, subscribed to rybar, gets it
            w.post(rybar, post.text, fwd_from=w.forward_of(legion, post.id))
            await sim.until(lambda: alerts(sim, OLGA) and alerts(sim, ANNA)[0].edited)
            assert "🔁 Also posted by @rybar" in alerts(sim, ANNA)[0].text
            assert "↪️ Forwarded from Легион «Свобода России» @legionoffreedom" in \
                alerts(sim, OLGA)[0].text
            # the original is edited, then deleted
            w.edit(legion, post.id, "Бои в районе Тёткино, есть погибшие")
            await sim.until(lambda: len(alerts(sim, ANNA)) == 2)
            edit = alerts(sim, ANNA)[1]
            assert marked(edit, "strikethrough") == ["раненые"]
            assert marked(edit, "underline") == ["погибшие"]
            w.delete(legion, [post.id])
            await sim.until(lambda: len(alerts(sim, ANNA)) == 3)
            deletion = alerts(sim, ANNA)[2]
            assert deletion.text.startswith("🗑 Deleted") and "есть погибшие" in deletion.text
            assert edit.reply_to == deletion.reply_to == alert.id
            assert len(alerts(sim, OLGA)) == 1                 # /edits is off for her

    sim.run(body)


def test_posts_published_while_tgmon_was_down_alert_late_and_history_does_not(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    w.add_channel("rybar", "Рыбарь")
    w.post(legion, "Тёткино, история", date=sim.start - timedelta(hours=2), push=False)
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        # Anna's rule exists before the Legion is watched
        async with sim.running(components=default_components,
                               settings=settings(sim, watch=("rybar",))) as (_first, rt):
            await watching(rt, "rybar")
            await sim.ask(anna, "/alert Тёткино")
        # watching it reads its last day: history, not news
        s = settings(sim, watch=("rybar", "legionoffreedom"))
        async with sim.running(components=default_components, settings=s) as (app, rt):
            await watching(rt, "legionoffreedom")
            await until(lambda: _stored(rt.db, legion.id, 1), timeout=300, step=1.0)
            await quiet(sim, app)
            assert alerts(sim, ANNA) == []
        await asyncio.sleep(40 * 60)                        # tgmon is down for a while
        w.post(legion, "Тёткино: ночной обстрел")
        await asyncio.sleep(20 * 60)
        async with sim.running(components=default_components, settings=s) as (app2, _):
            await sim.until(lambda: alerts(sim, ANNA), timeout=300)
            await quiet(sim, app2)
            [late] = alerts(sim, ANNA)
            assert "Тёткино: ночной обстрел" in late.text
            assert "⏰ late by 20 min (caught up after a gap)" in late.text

    sim.run(body)


async def _stored(db, channel_id, n):
    row = await db.fetchone("SELECT count(*) FROM posts WHERE channel_id = ?", (channel_id,))
    return row[0] >= n
