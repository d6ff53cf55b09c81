"""Scheduled digests through the simulated Telegram: the real App with its default
components, the bot client, the outbox and the sender, on virtual time."""

from __future__ import annotations

from datetime import timedelta

from digest_helpers import (
    ADMIN,
    ANNA,
    BORIS,
    CARL,
    IVAN,
    LEGION,
    heads,
    hourly_posts,
    people,
    seed,
    settings,
    until,
    utc,
    without_watcher,
)

from bot.app import default_components
from storage.digest_schedules import get_chat_schedule


def period_line(message) -> str:
    """The period a digest covers, as its second line says."""
    return message.text.split("\n")[1]


def test_digests_arrive_at_each_chats_local_time(sim):
    who = people(sim)
    s = settings(sim)

    async def body():
        await seed(s, sim.now())
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            await sim.ask(who[ANNA], "/timezone Europe/Moscow")
            await sim.ask(who[BORIS], "/timezone Asia/Vladivostok")
            answer = await sim.ask(who[CARL], "/digest 07:30 mon,wed")
            assert "at 07:30 on Mon, Wed" in answer.text and "13 Mar 2024 07:30 UTC" in answer.text
            await until(utc(2024, 3, 13, 8))

    sim.run(body)
    # Moscow is UTC+3: 08:00 there is 05:00 UTC (today's 05:00 came before she wrote)
    anna = heads(sim, ANNA)
    assert [m.at for m in anna] == [utc(2024, 3, 13, 5)]
    # Vladivostok is UTC+10: 08:00 there is 22:00 UTC the day before
    assert [m.at for m in heads(sim, BORIS)] == [utc(2024, 3, 12, 22)]
    # only on Mondays and Wednesdays: not on Tuesday 12 March, on Wednesday the 13th
    assert [m.at for m in heads(sim, CARL)] == [utc(2024, 3, 13, 7, 30)]
    # a first digest covers the last 24 hours, shown in the reader's zone
    assert period_line(anna[0]) == "12 Mar 2024 08:00 – 13 Mar 2024 08:00 (Europe/Moscow)"
    # a chat where nothing was posted still gets its digest
    assert "Легион «Свобода России» — no posts yet" in anna[0].text


def test_a_missed_digest_is_sent_once_after_downtime_within_the_grace(sim):
    who = people(sim)
    s = settings(sim, digest_grace=timedelta(hours=6))

    async def run_until(moment):
        async with sim.running(components=without_watcher, settings=s) as (_app, rt):
            await until(moment)
            mark = await get_chat_schedule(rt.db, ANNA)
        return mark.schedule

    async def body():
        await seed(s, sim.now())
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            await sim.ask(who[ANNA], "/start")                  # UTC, daily at 08:00
            await until(utc(2024, 3, 12, 9))
        # down across 13 March 08:00; back at 09:30, within the 6 h grace
        await until(utc(2024, 3, 13, 9, 30))
        mark = await run_until(utc(2024, 3, 13, 10))
        assert mark.last_due == utc(2024, 3, 13, 8)
        # restarted again: the database says it was sent, nothing goes twice
        await run_until(utc(2024, 3, 13, 11))
        # down across 14 March 08:00, back at 15:00: outside the grace, skipped ...
        await until(utc(2024, 3, 14, 15))
        await run_until(utc(2024, 3, 15, 9))

    sim.run(body)
    sent = heads(sim, ANNA)
    assert [m.at for m in sent] == [utc(2024, 3, 12, 8), utc(2024, 3, 13, 9, 30),
                                    utc(2024, 3, 15, 8)]
    assert period_line(sent[1]) == "12 Mar 2024 08:00 – 13 Mar 2024 08:00 (UTC)"
    # ... and the next digest covers the whole time since the last one sent
    assert period_line(sent[2]) == "13 Mar 2024 08:00 – 15 Mar 2024 08:00 (UTC)"


def test_digest_off_on_now_and_the_schedule_shown(sim):
    who = people(sim)
    s = settings(sim)
    anna = who[ANNA]

    async def body():
        await seed(s, sim.now(), posts=hourly_posts(LEGION, utc(2024, 3, 11, 12), 10))
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            shown = (await sim.ask(anna, "/digest")).text
            assert "Digest: daily at 08:00 (UTC, the default). Next: 12 Mar 2024 08:00 UTC." \
                in shown
            assert "every watched channel (2)" in shown
            assert "stopped" in (await sim.ask(anna, "/digest off")).text
            assert "Digests are off here" in (await sim.ask(anna, "/digest")).text
            await until(utc(2024, 3, 12, 9))
            assert heads(sim, ANNA) == []
            # on request: the last 24 hours the first time (no digest before)
            await sim.ask(anna, "/digest now")
            await until(utc(2024, 3, 12, 9, 1))
            assert period_line(heads(sim, ANNA)[-1]) == \
                "11 Mar 2024 09:00 – 12 Mar 2024 09:00 (UTC)"
            on = (await sim.ask(anna, "/digest on")).text
            assert "Next: 13 Mar 2024 08:00 UTC" in on and "up to 12 Mar 2024 09:00 UTC" in on
            await until(utc(2024, 3, 13, 8, 1))

    sim.run(body)
    sent = heads(sim, ANNA)
    assert [m.at for m in sent] == [utc(2024, 3, 12, 9), utc(2024, 3, 13, 8)]
    # the scheduled one continues where the one on request stopped
    assert period_line(sent[1]) == "12 Mar 2024 09:00 – 13 Mar 2024 08:00 (UTC)"


def test_a_time_zone_change_moves_the_schedule_at_once(sim):
    who = people(sim)
    s = settings(sim)

    async def body():
        await seed(s, sim.now())
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            await sim.ask(who[ANNA], "/digest 08:03")              # UTC: 08:03 UTC
            await sim.ask(who[ANNA], "/timezone Europe/Moscow")    # UTC+3: in 3 minutes
            shown = (await sim.ask(who[ANNA], "/digest")).text
            assert "daily at 08:03 (Europe/Moscow)" in shown
            assert "Next: 12 Mar 2024 08:03 MSK" in shown
            await until(utc(2024, 3, 12, 5, 10))

    sim.run(body)
    assert [m.at for m in heads(sim, ANNA)] == [utc(2024, 3, 12, 5, 3)]


def test_bad_schedules_are_refused_with_the_fix(sim):
    who = people(sim)
    s = settings(sim)
    anna = who[ANNA]

    async def body():
        async with sim.running(components=without_watcher, settings=s) as (_app, rt):
            assert "'25:00' is not a time of day" in (await sim.ask(anna, "/digest 25:00")).text
            bad_day = (await sim.ask(anna, "/digest 07:30 mon,funday")).text
            assert "'funday' is not a weekday" in bad_day and "mon-fri" in bad_day
            assert "expected HH:MM [weekdays], off, on or now" in \
                (await sim.ask(anna, "/digest soon")).text
            assert "expected HH:MM" in (await sim.ask(anna, "/digest now please")).text
            # nothing was changed by the refused ones
            assert (await get_chat_schedule(rt.db, ANNA)).schedule.at is None
            weekdays = (await sim.ask(anna, "/digest 7.05 mon-fri")).text
            assert "at 07:05 on Mon, Tue, Wed, Thu, Fri" in weekdays
            daily = (await sim.ask(anna, "/digest 07:05 daily")).text
            assert "daily at 07:05" in daily

    sim.run(body)


def test_only_chats_allowed_when_due_get_digests(sim):
    who = people(sim)
    s = settings(sim)
    desk = sim.world.add_group("OSINT desk", members=[who[ANNA], who[IVAN]])
    lobby = sim.world.add_group("Lobby", members=[who[IVAN]])

    async def body():
        await seed(s, sim.now())
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            await sim.ask(who[BORIS], "/start")
            await sim.ask(who[IVAN], "/start")                  # not on the allowlist
            await sim.ask(who[ANNA], "/subscribe legionoffreedom", group=desk, chat_id=-desk.id)
            shown = await sim.ask(who[IVAN], "/digest", group=lobby, chat_id=-lobby.id)
            assert "allowlist" in shown.text                     # refused
            await sim.ask(who[ADMIN], "/deny 300")              # Борис, before his digest
            await until(utc(2024, 3, 12, 8, 5))
            await sim.ask(who[ADMIN], "/deny 200")              # Анна: her group loses it too
            await until(utc(2024, 3, 13, 8, 5))

    sim.run(body)
    assert heads(sim, BORIS) == [] and heads(sim, IVAN) == [] and heads(sim, -lobby.id) == []
    # the group got its digest while Анна, who set it up, could use the bot
    assert [m.at for m in heads(sim, -desk.id)] == [utc(2024, 3, 12, 8)]
    assert "Легион" in heads(sim, -desk.id)[0].text


def test_the_night_clocks_go_back_the_app_runs_on_and_sends_one_digest(sim):
    """Found by the soak (seed 9): a digest at 02:15 in Berlin on 27 October 2024, the
    hour that comes twice. Looking for the missed digest looped for ever (the app froze)
    and the job fired twice. Now the night plays through with one digest."""
    report = sim.play({
        "start": "2024-10-26T22:00:00Z", "end": "2024-10-27T04:00:00Z",
        "settings": {"access": "open", "timezone": "Europe/Berlin", "digest_time": "02:15"},
        "channels": [{"id": 1800000001, "username": "chan_a", "title": "A"}],
        "users": [{"id": 700001, "first_name": "Desk"}],
        "events": [
            {"at": "2024-10-26T22:05:00Z", "message": {"from": 700001, "text": "/start"}},
            {"at": "2024-10-26T23:00:00Z", "post": {"channel": "chan_a", "id": 1,
                                                    "text": "ночью"}},
        ]}, components=default_components)
    digests = [m for m in report.world.sent_by_bot(700001)
               if m.text.startswith("tgmon digest")]
    assert [m.at.isoformat() for m in digests] == ["2024-10-27T00:15:00+00:00"]
