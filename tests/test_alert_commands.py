"""/alert, /alerts, /unalert, /test, /edits and /help rules through the simulated
Telegram: success, bad input, and refusals in each access mode."""

from __future__ import annotations

from datetime import timedelta

from alertkit import (
    ANNA,
    LEGION,
    alerts,
    dispatcher,
    log_fed,
    people,
    press,
    publish,
    quiet,
    settings,
)

from storage.chats import get_chat
from storage.models import CapturePath
from storage.subscriptions import live_rules


def test_alert_saves_a_rule_that_alerts_and_undo_removes_it(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            saved = await sim.ask(anna, "/alert Тёткино   OR Tyotkino")
            assert saved.text.startswith("Alert 1 saved: Тёткино OR Tyotkino")
            assert "would have matched 0 of 0 stored posts" in saved.text
            rules = await live_rules(rt.db, ANNA)
            assert [r.text for r in rules] == ["Тёткино OR Tyotkino"]
            assert saved.buttons == (f"unalert:{rules[0].id}".encode(),)
            await publish(rt, LEGION, 10, "Бои у Тёткино")
            await sim.until(lambda: alerts(sim, ANNA))
            undone = await press(sim, anna, f"unalert:{rules[0].id}")
            assert undone.text.startswith("Alert 1 removed: Тёткино OR Tyotkino")
            assert await live_rules(rt.db, ANNA) == []
            await publish(rt, LEGION, 11, "Снова Тёткино")
            await quiet(sim, app)
            assert len(alerts(sim, ANNA)) == 1                 # the rule is gone from the matcher
            assert dispatcher(app).rules.get(rules[0].id) is None
            # the removal's own Undo brings it back as a new rule
            again = await press(sim, anna, f"readd:{rules[0].id}")
            assert again.text.startswith("Alert 1 saved: Тёткино OR Tyotkino")

    sim.run(body)


def test_alert_refuses_a_malformed_rule_with_its_position_and_saves_nothing(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            answer = await sim.ask(anna, "/alert (Курск OR <Суджа>")
            assert answer.text.startswith("That rule has a problem:")
            assert "column 1" in answer.text
            assert "(Курск OR <Суджа>\n^" in answer.text             # the rule and a caret
            assert [e.type for e in answer.entities] == ["pre"]
            assert await live_rules(rt.db, ANNA) == []
            usage = await sim.ask(anna, "/alert")
            assert "/alert needs RULE" in usage.text
            long_rule = "/alert " + " OR ".join(f"слово{i}" for i in range(80))
            assert "keep it under 300" in (await sim.ask(anna, long_rule)).text
            await sim.ask(anna, "/alert Курск")
            duplicate = await sim.ask(anna, "/alert Курск")
            assert "Your alert 1 is this rule already" in duplicate.text
            assert len(await live_rules(rt.db, ANNA)) == 1

    sim.run(body)


def test_alerts_lists_numbered_rules_and_unalert_takes_a_number(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            assert "No alerts yet" in (await sim.ask(anna, "/alerts")).text
            assert "There are no alerts to remove" in (await sim.ask(anna, "/unalert 1")).text
            for rule in ("Курск", "Суджа OR Sudzha", "#сводка"):
                await sim.ask(anna, f"/alert {rule}")
            listing = await sim.ask(anna, "/alerts")
            assert "1. Курск\n2. Суджа OR Sudzha\n3. #сводка" in listing.text
            assert "Edit and deletion alerts: off (/edits on)" in listing.text
            ids = [r.id for r in await live_rules(rt.db, ANNA)]
            assert listing.buttons == tuple(f"unalert:{i}".encode() for i in ids)
            assert "'two' is not a number" in (await sim.ask(anna, "/unalert two")).text
            assert "There is no alert 4: your alerts are numbered 1 to 3" in \
                (await sim.ask(anna, "/unalert 4")).text
            removed = await sim.ask(anna, "/unalert 2")
            assert removed.text.startswith("Alert 2 removed: Суджа OR Sudzha")
            assert "1. Курск\n2. #сводка" in (await sim.ask(anna, "/alerts")).text
            # a button of a rule that is gone
            stale = await press(sim, anna, f"unalert:{ids[1]}")
            assert "removed already" in stale.text

    sim.run(body)


def test_test_counts_the_last_30_days_shows_the_latest_five_and_saves_nothing(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
            now = sim.now()
            # history (imported: it never alerts): 7 matches in the window, 1 older, 3 others
            for i in range(7):
                await publish(rt, LEGION, 100 + i, f"Обстрел Суджи, сводка {i} <&>",
                              via=CapturePath.IMPORT, date=now - timedelta(days=i + 1))
            await publish(rt, LEGION, 90, "Суджа, давно", via=CapturePath.IMPORT,
                          date=now - timedelta(days=45))
            for i in range(3):
                await publish(rt, LEGION, 200 + i, "Про другое", via=CapturePath.IMPORT,
                              date=now - timedelta(hours=i + 1))
            answer = await sim.ask(anna, "/test Суджа OR Sudzha")
            assert "would have matched 7 of 10 stored posts" in answer.text
            lines = answer.text.split("\n")
            shown = [line for line in lines if line.startswith("• ")]
            assert len(shown) == 5
            assert shown[0].startswith("• @legionoffreedom 11 Mar 2024 05:00 UTC: Обстрел Суджи, "
                                       "сводка 0 <&>")
            links = [e.url for e in answer.entities if e.type == "text_link"]
            assert links[:2] == ["https://t.me/legionoffreedom/100",
                                 "https://t.me/legionoffreedom/101"]
            bold = [answer.text[e.offset:e.offset + e.length] for e in answer.entities
                    if e.type == "bold"]
            assert bold[1:3] == ["Суджи", "Суджи"]            # the count, then the matches
            assert await live_rules(rt.db, ANNA) == []         # /test never saves
            saved = await press(sim, anna, "save:Суджа OR Sudzha")
            assert saved.text.startswith("Alert 1 saved: Суджа OR Sudzha")
            assert "would have matched 7 of 10" in saved.text
            bad = await sim.ask(anna, "/test Суджа OR")
            assert bad.text.startswith("That rule has a problem:")
            await quiet(sim, app)
            assert alerts(sim, ANNA) == []                     # history does not alert

    sim.run(body)


def test_edits_switch_and_help_rules(sim):
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            assert "are off" in (await sim.ask(anna, "/edits")).text
            assert "are on" in (await sim.ask(anna, "/edits ON")).text
            assert (await get_chat(rt.db, ANNA)).edit_alerts is True
            assert "/edits takes on or off, not 'maybe'" in \
                (await sim.ask(anna, "/edits maybe")).text
            assert "are off" in (await sim.ask(anna, "/edits off")).text
            assert (await get_chat(rt.db, ANNA)).edit_alerts is False
            rules = (await sim.ask(anna, "/help rules")).text
            assert "Курск OR Kursk" in rules and "from:rybar" in rules
            listing = (await sim.ask(anna, "/help")).text
            for usage in ("/alert RULE...", "/alerts", "/unalert N", "/test RULE...",
                          "/edits [STATE]", "/help rules"):
                assert usage in listing
            assert "/help rules" in (await sim.ask(anna, "/help alert")).text

    sim.run(body)


COMMANDS = ("/alert Курск", "/alerts", "/unalert 1", "/test Курск", "/edits on")


def test_every_alert_command_refuses_whom_the_access_mode_keeps_out(sim):
    admin, anna, ivan, _olga = people(sim)

    async def body():
        # allowlist: a stranger is refused and told how to get in; a member is not
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            for command in COMMANDS:
                refused = await sim.ask(ivan, command)
                assert "not on this bot's allowlist" in refused.text and \
                    "/allow 300" in refused.text
            assert "allowlist" not in (await sim.ask(anna, "/alerts")).text
            await sim.ask(anna, "/alert Курск")
            rule_id = (await live_rules(rt.db, ANNA))[0].id
            # an admin's /deny beats the allowlist, buttons included
            await sim.ask(admin, f"/deny {ANNA}")
            for command in COMMANDS:
                assert "not on this bot's allowlist" in (await sim.ask(anna, command)).text
            sim.world.press(anna, f"unalert:{rule_id}")
            await sim.until(lambda: sim.world.callback_answers)
            assert sim.world.callback_answers[-1].message == "Not allowed."
            assert len(await live_rules(rt.db, ANNA)) == 1
        # admins only: members are refused, admins are not
        async with sim.running(
                components=log_fed, settings=settings(sim, access="admins")) as (_app, _):
            for command in COMMANDS:
                assert "for its admins only" in (await sim.ask(ivan, command)).text
            assert "Alert 1 saved" in (await sim.ask(admin, "/alert Курск")).text
        # open: anyone
        async with sim.running(
                components=log_fed, settings=settings(sim, access="open")) as (_app, _):
            assert "Alert 1 saved" in (await sim.ask(ivan, "/alert Курск")).text
            assert "1. Курск" in (await sim.ask(ivan, "/alerts")).text

    sim.run(body)


def test_a_group_keeps_its_own_rules_for_the_desk(sim):
    _admin, anna, ivan, olga = people(sim)
    desk = sim.world.add_group("OSINT desk", members=[anna, ivan, olga])

    async def body():
        async with sim.running(components=log_fed, settings=settings(sim)) as (_app, rt):
            chat = -desk.id
            saved = await sim.ask(anna, "/alert@tgmon_sim_bot Бєлгород OR Белгород", group=desk,
                              chat_id=chat)
            assert saved.text.startswith("Alert 1 saved")
            assert [r.text for r in await live_rules(rt.db, chat)] == ["Бєлгород OR Белгород"]
            assert await live_rules(rt.db, ANNA) == []           # not Anna's own
            # another allowed member manages the same rules
            listing = await sim.ask(olga, "/alerts", group=desk, chat_id=chat)
            assert "This group's alerts" in listing.text and \
                "1. Бєлгород OR Белгород" in listing.text
            refused = await sim.ask(ivan, "/unalert 1", group=desk, chat_id=chat)
            assert "allowlist" in refused.text
            removed = await sim.ask(olga, "/unalert 1", group=desk, chat_id=chat)
            assert removed.text.startswith("Alert 1 removed")
            assert sim.texts(ANNA) == []

    sim.run(body)
