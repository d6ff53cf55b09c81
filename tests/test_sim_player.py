"""Playing scenarios through the real App on the virtual clock: restarts, the scheduler,
the transcript, and a run that cannot go on."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from simkit import EchoBot, PostRecorder

from bot.sim.player import SimulationError

LEGION_ID = 1598551001
MARKED = -1_000_000_000_000 - LEGION_ID


def scenario(*events, end="2024-03-13T00:00:00+03:00", **extra):
    return {"start": "2024-03-12T00:00:00+03:00", "end": end,
            "channels": [{"id": LEGION_ID, "username": "legionoffreedom", "title": "Легион",
                          "history": [{"id": 1, "date": "2024-03-11T20:00:00+03:00",
                                       "text": "вчера"}]}],
            "users": [{"id": 100, "first_name": "Ольга"}],
            "events": list(events), **extra}


def post(at, mid, text):
    return {"at": at, "post": {"channel": "legionoffreedom", "id": mid, "text": text}}


def test_a_day_plays_through_the_app_with_restart_from_the_saved_session(sim):
    seen = []
    report = sim.play(scenario(
        post("2024-03-12T03:00:00+03:00", 2, "Началось"),
        {"at": "2024-03-12T04:00:00+03:00",
         "fault": {"kind": "app_down", "until": "2024-03-12T05:00:00+03:00"}},
        post("2024-03-12T04:10:00+03:00", 3, "пока tgmon лежал 1"),
        post("2024-03-12T04:20:00+03:00", 4, "пока tgmon лежал 2"),
        # (not on a quarter hour: Telethon's no-update deadlines, every 15 min after the
        # restart, would start a difference that swallows a push arriving at that instant)
        {"at": "2024-03-12T06:07:00+03:00",
         "edit": {"channel": "legionoffreedom", "id": 2, "text": "Началось (обновлено)"}},
        {"at": "2024-03-12T06:38:00+03:00", "delete": {"channel": "legionoffreedom",
                                                       "ids": [3]}},
    ), components=lambda: [PostRecorder(seen)])
    assert seen == [("new", MARKED, 2, "Началось"),
                    ("new", MARKED, 3, "пока tgmon лежал 1"),     # through catch-up,
                    ("new", MARKED, 4, "пока tgmon лежал 2"),     # after the restart
                    ("edit", MARKED, 2, "Началось (обновлено)"),
                    ("delete", MARKED, (3,), None)]
    assert report.restarts == 1 and report.captured == 0
    # the restarted client asked from the pts its session file had saved
    diff = report.world.requests_of("updates.getChannelDifference")[0]
    assert diff.pts == 3 and diff.limit == 100


def test_more_than_100_posts_while_down_are_too_long_for_catch_up(sim):
    seen = []
    many = [post(f"2024-03-12T04:{i // 60:02d}:{i % 60:02d}+03:00", 10 + i, f"пост {i}")
            for i in range(101)]
    report = sim.play(scenario(
        post("2024-03-12T03:00:00+03:00", 2, "до"),
        {"at": "2024-03-12T03:30:00+03:00",
         "fault": {"kind": "app_down", "until": "2024-03-12T05:00:00+03:00"}},
        *many, end="2024-03-12T06:00:00+03:00"), components=lambda: [PostRecorder(seen)])
    assert [s[2] for s in seen] == [2]              # Telethon drops a too-long difference
    assert report.world.requests_of("updates.getChannelDifference")
    assert sorted(report.world.channel("legionoffreedom").posts) == [1, 2, *range(10, 111)]


def test_transcript_has_every_message_between_the_bot_and_people(sim, tmp_path):
    out = tmp_path / "t.jsonl"
    sim.play(scenario(
        {"at": "2024-03-12T06:30:00+03:00", "message": {"from": 100, "text": "/alert <Тёткино>"}},
        {"at": "2024-03-12T06:31:00+03:00", "press": {"from": 100, "data": "again"}},
        {"at": "2024-03-12T06:32:00+03:00", "message": {"from": 100, "text": "/file"}},
        {"at": "2024-03-12T06:33:00+03:00", "press": {"from": 100, "data": "missing"}},
        end="2024-03-12T07:00:00+03:00"), components=lambda: [EchoBot()], transcript=out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"at": "2024-03-12T03:30:00Z", "direction": "in", "chat_id": 100,
                        "text": "/alert <Тёткино>",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
    assert lines[1]["direction"] == "out" and lines[1]["text"] == "echo: /alert <Тёткино>"
    assert lines[1]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert lines[1]["buttons"] == ["again"]
    assert lines[3] == {"at": "2024-03-12T03:32:00Z", "direction": "out", "chat_id": 100,
                        "text": "your export", "file": {"name": "posts.csv", "size": 32},
                        "entities": [{"type": "italic", "offset": 0, "length": 11}]}
    assert [line["direction"] for line in lines] == ["in", "out", "in", "out"]


def test_a_press_without_its_button_is_skipped_and_reported(sim):
    report = sim.play(scenario({"at": "2024-03-12T06:33:00+03:00",
                                "press": {"from": 100, "data": "nothing"}},
                               end="2024-03-12T07:00:00+03:00"))
    assert len(report.skipped) == 1 and "$.events[0]" in report.skipped[0]
    assert "nothing" in report.summary()


class DigestAt:
    """Schedules a job with APScheduler at the settings' digest time, in their zone."""

    name = "digest-at"

    def __init__(self, fired):
        self.fired = fired

    async def start(self, rt):
        async def job():
            self.fired.append((datetime.now(UTC), rt.now()))
        t = rt.settings.digest_time
        rt.scheduler.add_job(job, "cron", hour=t.hour, minute=t.minute,
                             timezone=rt.settings.timezone)

    async def stop(self):
        pass


def test_scheduler_fires_on_the_virtual_clock_and_the_real_clock_comes_back(sim):
    fired = []
    real_before = time.time()
    sim.play(scenario(settings={"timezone": "Europe/Moscow", "digest_time": "20:00"}),
             components=lambda: [DigestAt(fired)])
    assert fired == [(datetime(2024, 3, 12, 17, 0, tzinfo=UTC),) * 2]
    assert not time_machine.escape_hatch.is_travelling()
    assert abs(time.time() - real_before) < 600
    assert datetime.now(UTC) - datetime.fromtimestamp(real_before, UTC) < timedelta(minutes=10)


class QuitsAfterAMinute:
    name = "quitter"

    async def start(self, rt):
        import asyncio
        asyncio.get_running_loop().call_later(60, lambda: asyncio.ensure_future(
            rt.user.disconnect()))

    async def stop(self):
        pass


def test_an_app_that_stops_by_itself_fails_the_run(sim):
    with pytest.raises(SimulationError, match="stopped by itself"):
        sim.play(scenario(end="2024-03-12T01:00:00+03:00"),
                 components=lambda: [QuitsAfterAMinute()])
