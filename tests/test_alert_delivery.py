"""Alerts reaching people through the simulated Telegram: from a post stored in the log
(as the watcher stores it) through the dispatcher, the outbox and the rate-limited
sender to the bot's messages."""

from __future__ import annotations

from datetime import timedelta

from alertkit import (
    ANNA,
    IVAN,
    LEGION,
    MAJORS,
    OLGA,
    RYBAR,
    alerts,
    dispatcher,
    log_fed,
    people,
    press,
    publish,
    quiet,
    settings,
    watched,
)

from storage import outbox
from storage.chats import get_chat
from storage.models import CapturePath, ForwardOrigin, Media

NEWS = ("Командующий группировкой войск «Юг» генерал-полковник Геннадий Анашкин снят с "
        "должности, сообщают источники в Минобороны. Его обязанности временно исполняет "
        "заместитель. Тёткино")


def marked(message, kind):
    """The text of a message's entities of one kind (offsets are UTF-16 units)."""
    raw = message.text.encode("utf-16-le")
    return [raw[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
            for e in message.entities if e.type == kind]


def bold(message):
    return marked(message, "bold")


async def count(db, sql, params=()):
    row = await db.fetchone(sql, params)
    return row[0]


def test_russian_ukrainian_and_english_rules_reach_the_right_people(sim):
    _admin, anna, _ivan, olga = people(sim)
    sim.world.add_user("Emma", "emma", id=500)
    emma = sim.world.person(500)

    async def body():
        s = settings(sim, allowlist=frozenset({ANNA, OLGA, 500}))
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            await sim.ask(anna, "/alert Курск -реклама")
            await sim.ask(olga, "/alert Харків OR Kharkiv")
            await sim.ask(emma, "/alert drone* from:rybar")
            await publish(rt, LEGION, 1, "Обстрел в Курской области, есть пострадавшие")
            await publish(rt, LEGION, 2, "Реклама: туры в Курск")
            await publish(rt, RYBAR, 3, "Харкові знову вибухи, кажуть у місті")
            await publish(rt, RYBAR, 4, "Drones hit an oil depot near Kursk")
            await publish(rt, LEGION, 5, "Drones over Belgorod")       # not from rybar
            await quiet(sim, app)
            got = {who: alerts(sim, who) for who in (ANNA, OLGA, 500)}
            assert [bold(m)[1:] for m in got[ANNA]] == [["Курской"]]
            assert "Rule 1 Курск -реклама — Курской" in got[ANNA][0].text
            assert [bold(m)[1:] for m in got[OLGA]] == [["Харкові"]]
            assert [bold(m)[1:] for m in got[500]] == [["Drones"]]
            assert "Рыбарь @rybar" in got[500][0].text and "t.me/rybar/4" in got[500][0].text
            assert alerts(sim, IVAN) == []

    sim.run(body)


def test_one_alert_per_post_however_many_rules_and_subscriptions_match(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        s = settings(sim)
        await watched(sim, s, LEGION)
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            await sim.ask(anna, "/alert Тёткино")
            await sim.ask(anna, "/alert Tyotkino OR Козинка")
            await sim.ask(anna, "/subscribe legionoffreedom")
            await publish(rt, LEGION, 7, "Бои у Тёткино и Козинки")
            await quiet(sim, app)
            [alert] = alerts(sim, ANNA)
            assert "🔔 Rule 1 Тёткино\n" in alert.text            # found what it says
            assert "Rule 2 Tyotkino OR Козинка — Тёткино, Козинки" in alert.text
            assert "Subscribed to @legionoffreedom" in alert.text
            assert bold(alert)[1:] == ["Тёткино", "Козинки"]
            assert await count(rt.db, "SELECT count(*) FROM alerts") == 1

    sim.run(body)


def test_edits_and_deletions_alert_with_edits_on_and_not_with_off(sim):
    _admin, anna, _ivan, olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            for who in (anna, olga):
                await sim.ask(who, "/alert Суджа")
            await sim.ask(anna, "/edits on")
            await publish(rt, LEGION, 20, "В Судже двое раненых")
            await quiet(sim, app)
            await publish(rt, LEGION, 20, "В Судже трое раненых")         # a new version
            await publish(rt, LEGION, 21, "Про другое")
            await publish(rt, LEGION, 21, "Про другое, исправлено")       # never alerted
            await quiet(sim, app)
            first, edit = alerts(sim, ANNA)
            assert edit.text.startswith("✏️ Edited · Легион «Свобода России» @legionoffreedom")
            assert marked(edit, "strikethrough") == ["двое"]
            assert marked(edit, "underline") == ["трое"]
            assert edit.reply_to == first.id                   # answers the alert of the post
            async with rt.db.transaction() as conn:
                from storage.posts import mark_deleted
                await mark_deleted(conn, LEGION.channel_id, [20], sim.now())
            rt.log_changed.notify()
            await quiet(sim, app)
            deletion = alerts(sim, ANNA)[-1]
            assert deletion.text.startswith("🗑 Deleted")
            assert "В Судже трое раненых" in deletion.text
            assert [m.text[:1] for m in alerts(sim, OLGA)] == ["📢"]    # /edits off: none

    sim.run(body)


def test_muted_chats_get_nothing_and_unmute_tells_what_was_held(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Курск")
            await sim.ask(anna, "/mute 2h")
            await publish(rt, LEGION, 30, "Курск: сирены")
            await publish(rt, LEGION, 31, "Курск: отбой")
            await quiet(sim, app)
            assert alerts(sim, ANNA) == []
            held = await count(rt.db, "SELECT count(*) FROM alerts WHERE status = 'held'")
            assert held == 2
            resumed = await sim.ask(anna, "/unmute")
            assert "While muted, 2 posts matched here" in resumed.text
            shown = await press(sim, anna, resumed.buttons[0])
            assert "Held back while muted (2)" in shown.text
            assert "Курск: сирены" in shown.text and "Курск: отбой" in shown.text
            assert (await sim.ask(anna, "/unmute")).text == "Alerts resumed."
            await publish(rt, LEGION, 32, "Курск снова")
            await quiet(sim, app)
            assert len(alerts(sim, ANNA)) == 1

    sim.run(body)


def test_a_chat_that_blocked_the_bot_is_tried_once_and_then_not_alerted(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Курск")
            sim.world.block_bot(anna)
            await publish(rt, LEGION, 40, "Курск: первая")
            await quiet(sim, app)
            assert (await get_chat(rt.db, ANNA)).blocked_at is not None
            await publish(rt, LEGION, 41, "Курск: вторая")
            await quiet(sim, app)
            tries = [r for r in sim.world.requests_of("messages.sendMessage", role="bot")
                     if getattr(r.peer, "user_id", None) == ANNA]
            assert len(tries) == 2                               # the /alert answer, one alert
            assert await count(rt.db, "SELECT count(*) FROM alerts") == 1

    sim.run(body)


def test_the_same_story_from_several_channels_alerts_once_naming_the_others(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Тёткино OR Анашкин")
            await publish(rt, LEGION, 50, NEWS)
            await quiet(sim, app)
            await sim.until(lambda: alerts(sim, ANNA))
            await publish(rt, RYBAR, 60, NEWS, date=sim.now() + timedelta(minutes=5),
                          forward=ForwardOrigin(LEGION.channel_id, 50, sim.now(), None))
            await publish(rt, MAJORS, 70, "⚡️" + NEWS.replace("«Юг»", "\"Юг\"") + " Подписаться",
                          date=sim.now() + timedelta(minutes=7))
            await quiet(sim, app)
            [alert] = alerts(sim, ANNA)                          # one message, edited
            assert alert.edited
            assert "🔁 Also posted by @rybar 05:05 UTC, @dva_majors 05:07 UTC" in alert.text
            links = [e.url for e in alert.entities if e.type == "text_link"]
            assert links[-2:] == ["https://t.me/rybar/60", "https://t.me/dva_majors/70"]
            assert len(sim.world.requests_of("messages.editMessage", role="bot")) == 2
            folded = await count(rt.db, "SELECT count(*) FROM alerts WHERE status = 'folded'")
            assert folded == 2
            # outside the window the same text alerts again
            await publish(rt, RYBAR, 61, NEWS, date=sim.now() + timedelta(hours=7))
            await quiet(sim, app)
            assert len(alerts(sim, ANNA)) == 2

    sim.run(body)


def test_late_posts_are_labelled_and_old_or_imported_history_does_not_alert(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Курск")
            now = sim.now()
            await publish(rt, LEGION, 80, "Курск, ночью", via=CapturePath.CATCH_UP,
                          date=now - timedelta(hours=2, minutes=5))
            await publish(rt, LEGION, 81, "Курск, позавчера", via=CapturePath.CATCH_UP,
                          date=now - timedelta(hours=30))
            await publish(rt, LEGION, 82, "Курск, из архива", via=CapturePath.BACKFILL,
                          date=now - timedelta(hours=1))
            await publish(rt, LEGION, 83, "Курск, из экспорта", via=CapturePath.IMPORT,
                          date=now - timedelta(hours=1))
            await publish(rt, LEGION, 84, "Курск, сейчас")
            await quiet(sim, app)
            late, live = alerts(sim, ANNA)
            assert "Курск, ночью" in late.text
            assert "⏰ late by 2 h 5 min (caught up after a gap)" in late.text
            assert "Курск, сейчас" in live.text and "late" not in live.text

    sim.run(body)


def test_hostile_and_huge_posts_arrive_escaped_and_within_the_limit(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Тёткино")
            await publish(rt, LEGION, 90, "<script>alert('x')</script> & <b>Тёткино</b> &amp;",
                          media=Media("photo"))
            filler = "Сводка за сутки: обстановка без изменений, продолжаются обстрелы. " * 160
            await publish(rt, LEGION, 91, filler + "Бой у Тёткино. " + filler)
            await quiet(sim, app)
            hostile, huge = alerts(sim, ANNA)
            assert "<script>alert('x')</script> & <b>Тёткино</b> &amp;" in hostile.text
            assert bold(hostile)[1:] == ["Тёткино"] and "📷 photo" in hostile.text
            assert len(huge.text.encode("utf-16-le")) // 2 <= 4096
            assert "Тёткино" in bold(huge) and "t.me/legionoffreedom/91" in huge.text

    sim.run(body)


def test_a_groups_rules_alert_the_group(sim):
    _admin, anna, _ivan, olga = people(sim)
    desk = sim.world.add_group("OSINT desk", members=[anna, olga])

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            await sim.ask(anna, "/alert Бєлгород OR Белгород", group=desk, chat_id=-desk.id)
            await sim.ask(olga, "/timezone Europe/Kyiv", group=desk, chat_id=-desk.id)
            await publish(rt, RYBAR, 100, "Белгород: взрывы в центре")
            await quiet(sim, app)
            [alert] = alerts(sim, -desk.id)
            assert "Белгород" in bold(alert) and "12 Mar 2024 07:00 EET" in alert.text
            assert alerts(sim, ANNA) == [] and alerts(sim, OLGA) == []

    sim.run(body)


def test_restart_between_recording_and_sending_loses_nothing_and_duplicates_nothing(sim):
    _admin, anna, _ivan, olga = people(sim)

    async def body():
        s = settings(sim)
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            for who in (anna, olga):
                await sim.ask(who, "/alert Курск")
            # Telegram refuses the bot's sends for a while: the alerts are recorded, not sent
            sim.world.flood_wait("messages.sendMessage", 600, role="bot")
            for i in range(3):
                await publish(rt, LEGION, 110 + i, f"Курск {i}")
            await sim.until(lambda: dispatcher(app).handled >= 3)
            assert await outbox.pending_count(rt.db) == 6
            assert alerts(sim, ANNA) == alerts(sim, OLGA) == []
        # a new process on the same database
        async with sim.running(components=log_fed, settings=s) as (app2, rt2):
            await quiet(sim, app2, timeout=900)
            for who in (ANNA, OLGA):
                assert [m.text.split("\n")[2] for m in alerts(sim, who)] == \
                    ["Курск 0", "Курск 1", "Курск 2"]
            # replaying the whole log from the start adds nothing
            await rt2.db.execute("UPDATE alert_cursor SET seq = 0")
            dispatcher(app2).cursor = 0
            rt2.log_changed.notify()
            await quiet(sim, app2)
            assert await count(rt2.db, "SELECT count(*) FROM alerts") == 6
            assert await count(rt2.db, "SELECT count(*) FROM outbox WHERE kind = 'alert'") == 6
            assert len(alerts(sim, ANNA)) == 3

    sim.run(body)


def test_a_fan_out_keeps_the_send_limits_and_replies_go_first(sim):
    _admin, _anna, _ivan, _olga = people(sim)
    readers = [sim.world.add_user(f"Reader {i}", f"reader{i}", id=10_000 + i)
               for i in range(150)]

    async def body():
        s = settings(sim, access="open")
        await watched(sim, s, LEGION)
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            for r in readers:
                sim.world.user_writes(r, "/subscribe legionoffreedom")
            await sim.until(lambda: all(sim.texts(r.id) for r in readers), timeout=120)
            start = len(sim.world.sent_by_bot())
            await publish(rt, LEGION, 120, "Важное сообщение для всех")
            await sim.until(lambda: len(sim.world.sent_by_bot()) > start + 10)
            sim.world.flood_wait("messages.sendMessage", 3, role="bot")   # one injected wait
            await sim.ask(readers[-1], "/alerts")
            await quiet(sim, app)
            sent = sim.world.sent_by_bot()[start:]
            fan = [m for m in sent if m.text.startswith("📢")]
            assert sorted(m.chat_id for m in fan) == [r.id for r in readers]   # each once
            times = sorted(m.at.timestamp() for m in sent)
            assert max(sum(1 for t in times if a <= t < a + 1.0) for a in times) <= 30
            # Telegram answered FLOOD_WAIT only to the injected wait, never to the pace
            tries = len(sim.world.requests_of("messages.sendMessage", role="bot"))
            assert tries - sim.world.answered["messages.sendMessage"] == 1
            # the reply overtook the alerts still queued
            reply_at = next(i for i, m in enumerate(sent) if m.text.startswith("No alerts yet"))
            assert reply_at < len(sent) - 50

    sim.run(body)


def test_an_albums_photos_without_text_fold_silently_into_its_alert(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        s = settings(sim)
        await watched(sim, s, LEGION)
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            await sim.ask(anna, "/subscribe legionoffreedom")
            await publish(rt, LEGION, 130, "Фото с места событий", grouped_id=42,
                          media=Media("photo"))
            for i in (131, 132):
                await publish(rt, LEGION, i, "", grouped_id=42, media=Media("photo"))
            await publish(rt, LEGION, 133, "", media=Media("photo"))      # not of the album
            await quiet(sim, app)
            album, single = alerts(sim, ANNA)
            assert "Фото с места событий" in album.text and not album.edited
            assert "Also posted" not in album.text
            assert single.text.count("📷 photo") == 1
            assert sim.world.requests_of("messages.editMessage", role="bot") == []

    sim.run(body)


def test_a_groups_backlog_does_not_hold_back_other_chats(sim):
    _admin, anna, _ivan, olga = people(sim)
    desk = sim.world.add_group("OSINT desk", members=[anna, olga])

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            sender = app.components[0]
            sender.batch = 5                                   # chats looked at per round
            await sim.ask(olga, "/alert Белгород", group=desk, chat_id=-desk.id)
            await sim.ask(anna, "/alert Курск")
            for i in range(25):                                # more than 19 a minute allows
                await publish(rt, RYBAR, 140 + i, f"Белгород, сводка {i}")
            await sim.until(lambda: alerts(sim, -desk.id))
            await publish(rt, LEGION, 170, "Курск: сирены")
            await quiet(sim, app, timeout=300)
            order = [m.chat_id for m in sim.world.sent_by_bot() if m.text.startswith("📢")]
            assert order.count(-desk.id) == 25
            assert order.index(ANNA) <= 2                       # not after the group's backlog
            group = sorted(m.at.timestamp() for m in alerts(sim, -desk.id))
            assert max(sum(1 for t in group if a <= t < a + 60) for a in group) <= 20

    sim.run(body)


def test_a_story_continues_after_a_restart(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        s = settings(sim)
        async with sim.running(components=log_fed, settings=s) as (app, rt):
            await sim.ask(anna, "/alert Анашкин")
            await publish(rt, LEGION, 180, NEWS)
            await quiet(sim, app)
        async with sim.running(components=log_fed, settings=s) as (app2, rt2):
            await sim.until(lambda: dispatcher(app2).ready.is_set())
            await publish(rt2, MAJORS, 190, "Срочно: " + NEWS, date=sim.now())
            await quiet(sim, app2)
            [alert] = alerts(sim, ANNA)
            assert alert.edited and "🔁 Also posted by @dva_majors" in alert.text

    sim.run(body)


def test_phrases_hashtags_regexes_and_latin_spellings_alert_with_their_words_bold(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            for rule in ('"Курская область"', "#сводка", r"/\d+ БПЛА/", "Tyotkino",
                         "Бєлгород OR Белгород"):
                await sim.ask(anna, f"/alert {rule}")
            await publish(rt, LEGION, 200, "Курская область: тревога")
            await publish(rt, LEGION, 201, "Утренняя #Сводка от штаба")
            await publish(rt, LEGION, 202, "Сбиты 12 БПЛА над регионом")
            await publish(rt, LEGION, 203, "Бои у Тёткино")
            await publish(rt, LEGION, 204, "Обстріл Бєлгорода вночі")
            await publish(rt, LEGION, 205, "Область Курская, без фразы")
            await quiet(sim, app)
            got = [(bold(m)[1:], m.text.split("🔔 ")[1]) for m in alerts(sim, ANNA)]
            assert got == [(["Курская область"], 'Rule 1 "Курская область"'),
                           (["#Сводка"], "Rule 2 #сводка"),
                           (["12 БПЛА"], r"Rule 3 /\d+ БПЛА/ — 12 БПЛА"),
                           (["Тёткино"], "Rule 4 Tyotkino — Тёткино"),
                           (["Бєлгорода"], "Rule 5 Бєлгород OR Белгород — Бєлгорода")]

    sim.run(body)
