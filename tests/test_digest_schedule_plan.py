"""When digests fall due (pure): times and weekdays as people write them, due times in
a zone (daylight saving included), and which missed digest is still sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.digest.scheduling.plan import (
    Plan,
    ScheduleError,
    due_to_send,
    latest_due,
    next_due,
    parse_clock,
    parse_days,
)
from storage.digest_schedules import ChatSchedule, DigestSchedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("07:30", time(7, 30)), ("7:05", time(7, 5)), ("00:00", time(0, 0)), ("23.59", time(23, 59)),
])
def test_clock_times_people_type_become_times(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["24:00", "7:60", "730", "07:3", "seven", ""])
def test_bad_clock_times_say_the_format(text):
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_clock(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("mon,wed", ("mon", "wed")), ("wed, mon", ("mon", "wed")), ("Monday Friday", ("mon", "fri")),
    ("mon-fri", ("mon", "tue", "wed", "thu", "fri")), ("sat-sun", ("sat", "sun")),
    ("fri-mon", ("mon", "fri", "sat", "sun")), ("daily", ()), ("mon-sun", ()),
    ("tues,thurs", ("tue", "thu")),
])
def test_weekday_names_lists_and_ranges_become_days(text, expected):
    assert parse_days(text) == expected


@pytest.mark.parametrize("text", ["funday", "mo", "mon,xyz", "monkey", "mon-"])
def test_bad_weekdays_name_the_word(text):
    with pytest.raises(ScheduleError, match="is not a weekday"):
        parse_days(text)


def test_a_plan_is_described_as_people_say_it():
    assert Plan(time(8, 0), (), "UTC").describe() == "daily at 08:00"
    assert Plan(time(7, 30), ("mon", "wed"), "UTC").describe() == "at 07:30 on Mon, Wed"


def test_due_times_follow_the_zone_across_daylight_saving():
    berlin = Plan(time(8, 0), (), "Europe/Berlin")
    # Berlin moved to summer time on 31 March 2024: 08:00 is 07:00 UTC before, 06:00 after
    assert next_due(berlin, utc(2024, 3, 30, 12)) == utc(2024, 3, 31, 6)
    assert next_due(berlin, utc(2024, 3, 30, 6)) == utc(2024, 3, 30, 7)
    assert latest_due(berlin, utc(2024, 4, 1, 5), utc(2024, 3, 29)) == utc(2024, 3, 31, 6)
    weekly = Plan(time(7, 30), ("mon",), "Asia/Vladivostok")
    # Monday 07:30 in Vladivostok is Sunday 21:30 UTC
    assert next_due(weekly, utc(2024, 3, 12)) == utc(2024, 3, 17, 21, 30)
    assert next_due(weekly, utc(2024, 3, 17, 21, 30)) == utc(2024, 3, 17, 21, 30)


def _within(seconds: float, work):
    """``work()``'s result; fails instead of hanging if it never returns."""
    import threading

    result: list = []
    worker = threading.Thread(target=lambda: result.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, "did not return: looping for ever"
    return result[0]


def test_the_night_clocks_go_back_a_digest_time_in_the_repeated_hour_is_due_once():
    """Found by the soak (seed 9): 02:15 comes twice in Berlin on 27 October 2024 (00:15
    and 01:15 UTC). Looking for the latest due time looped for ever there (the step past
    the second 02:15 landed before it again), which would freeze a running tgmon; and
    the scheduler's job fired twice that night."""
    night = Plan(time(2, 15), (), "Europe/Berlin")
    latest = _within(10, lambda: latest_due(night, utc(2024, 10, 27, 3), utc(2024, 10, 26, 23)))
    assert latest == utc(2024, 10, 27, 0, 15)          # the first 02:15, and only that one
    assert _within(10, lambda: next_due(night, utc(2024, 10, 27, 0, 30))) == \
        utc(2024, 10, 28, 1, 15)                        # not the repeated 02:15
    after = chat(last_due=utc(2024, 10, 27, 0, 15), period_end=utc(2024, 10, 27, 0, 15))
    # the job firing at the second 02:15 finds nothing to send
    assert _within(10, lambda: due_to_send(night, after, utc(2024, 10, 27, 1, 15), GRACE)) \
        is None
    new_york = Plan(time(1, 30), (), "America/New_York")  # 3 November 2024, 01:30 twice
    assert _within(10, lambda: latest_due(new_york, utc(2024, 11, 3, 12), utc(2024, 11, 3))) \
        == utc(2024, 11, 3, 5, 30)


def test_the_day_after_the_clocks_go_forward_a_midnight_digest_is_due():
    """Found by the soak (seed 45): APScheduler 3.11's CronTrigger, asked for the next
    00:00 in Kyiv after the one of 31 March 2024 (the night clocks go forward), answers 2
    April (agronholm/apscheduler#606): the job skipped a day, /digest showed the wrong
    next time. Due times are now the plan's local time on each of its days."""
    midnight = Plan(time(0, 0), (), "Europe/Kyiv")
    assert next_due(midnight, utc(2024, 3, 30, 22, 0, 1)) == utc(2024, 3, 31, 21)
    assert latest_due(midnight, utc(2024, 4, 1, 12), utc(2024, 3, 30)) == utc(2024, 3, 31, 21)
    trigger = midnight.trigger()                       # what fires the scheduler's job
    fired = trigger.get_next_fire_time(None, utc(2024, 3, 30, 12))
    assert fired == utc(2024, 3, 30, 22)
    assert trigger.get_next_fire_time(fired, fired) == utc(2024, 3, 31, 21)
    # a time the clocks skip is due when they read it an hour on (02:30 CET = 01:30 UTC)
    skipped = Plan(time(2, 30), (), "Europe/Berlin")
    assert next_due(skipped, utc(2024, 3, 30, 12)) == utc(2024, 3, 31, 1, 30)
    weekly = Plan(time(0, 0), ("mon",), "Europe/Kyiv")
    assert next_due(weekly, utc(2024, 3, 30, 12)) == utc(2024, 3, 31, 21)


def chat(**schedule) -> ChatSchedule:
    return ChatSchedule(1, "private", None, utc(2024, 3, 1), False,
                        DigestSchedule(1, **schedule))


DAILY = Plan(time(8, 0), (), "UTC")
GRACE = timedelta(hours=6)


def test_the_latest_due_time_is_sent_once_within_the_grace():
    c = chat(last_due=utc(2024, 3, 12, 8), period_end=utc(2024, 3, 12, 8))
    assert due_to_send(DAILY, c, utc(2024, 3, 13, 8), GRACE) == utc(2024, 3, 13, 8)
    assert due_to_send(DAILY, c, utc(2024, 3, 13, 14), GRACE) == utc(2024, 3, 13, 8)
    assert due_to_send(DAILY, c, utc(2024, 3, 13, 14, 1), GRACE) is None     # too old
    assert due_to_send(DAILY, c, utc(2024, 3, 13, 7, 59), GRACE) is None     # not yet
    sent = chat(last_due=utc(2024, 3, 13, 8), period_end=utc(2024, 3, 13, 8))
    assert due_to_send(DAILY, sent, utc(2024, 3, 13, 9), GRACE) is None      # never twice
    # a digest on request after the due time covered it already
    asked = chat(last_due=utc(2024, 3, 12, 8), period_end=utc(2024, 3, 13, 8, 30))
    assert due_to_send(DAILY, asked, utc(2024, 3, 13, 9), GRACE) is None


def test_due_times_before_the_chat_or_its_last_change_are_not_missed_ones():
    new = replace(chat(), first_seen=utc(2024, 3, 13, 8, 30))
    assert due_to_send(DAILY, new, utc(2024, 3, 13, 9), GRACE) is None
    assert due_to_send(DAILY, new, utc(2024, 3, 14, 8), GRACE) == utc(2024, 3, 14, 8)
    changed = chat(changed_at=utc(2024, 3, 13, 8, 0, 30))
    assert due_to_send(DAILY, changed, utc(2024, 3, 13, 9), GRACE) is None
    assert due_to_send(DAILY, chat(enabled=False), utc(2024, 3, 13, 8), GRACE) is None
    assert due_to_send(DAILY, replace(chat(), blocked=True), utc(2024, 3, 13, 8), GRACE) is None
