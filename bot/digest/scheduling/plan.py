"""When a chat's digests fall due: pure functions of its schedule, its time zone and a
``now`` passed in.

The same :func:`due_times` fires the job (through :meth:`Plan.trigger`, an APScheduler
trigger) and answers "when was the latest due time" (for digests missed while tgmon was
down) and "when is the next one" (for ``/digest``), so they can never disagree,
daylight saving included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.errors import TgmonError
from config.zones import zone_or_utc
from storage.digest_schedules import ChatSchedule

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")


class ScheduleError(TgmonError):
    """A digest time or weekday list that cannot be used."""


def parse_clock(text: str) -> time:
    """``"07:30"`` (or ``7:30``, ``07.30``) as a local time of day."""
    m = _CLOCK.fullmatch(text.strip())
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise ScheduleError(f"{text!r} is not a time of day: use HH:MM from 00:00 to 23:59, "
                            "e.g. /digest 07:30")
    return time(int(m[1]), int(m[2]))


def parse_days(text: str) -> tuple[str, ...]:
    """``"mon,wed"``, ``"mon-fri"``, ``"sat, sun"`` or ``"daily"`` as weekdays in week
    order (empty: every day)."""
    words = [w for w in re.split(r"[,\s]+", text.strip().lower()) if w]
    if words in (["daily"], ["everyday"]):
        return ()
    chosen: set[int] = set()
    for word in words:
        first, dash, last = word.partition("-")
        ends = [_weekday(first)] + ([_weekday(last)] if dash else [])
        a, b = ends[0], ends[-1]
        chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not chosen:
        raise ScheduleError("no weekdays given: use e.g. mon,wed or mon-fri")
    return () if len(chosen) == 7 else tuple(WEEKDAYS[i] for i in sorted(chosen))


def _weekday(word: str) -> int:
    key = word[:3]
    if len(word) < 3 or key not in WEEKDAYS or not _full_name(key).startswith(word):
        raise ScheduleError(f"{word!r} is not a weekday: use {', '.join(WEEKDAYS)} "
                            "(e.g. /digest 07:30 mon,wed or mon-fri)")
    return WEEKDAYS.index(key)


def _full_name(key: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
            "fri": "friday", "sat": "saturday", "sun": "sunday"}[key]


def zone(name: str) -> ZoneInfo:
    """The zone of a stored name; an unknown one (tzdata changed) falls back to UTC."""
    return zone_or_utc(name)


@lru_cache(maxsize=1)
def _trigger_class() -> type[BaseTrigger]:
    # Made on first use: importing APScheduler is not free, and most tgmon commands
    # never schedule anything.
    from apscheduler.triggers.base import BaseTrigger

    class DueTimes(BaseTrigger):
        """Fires at a plan's due times (:func:`due_times`)."""

        def __init__(self, plan: Plan) -> None:
            self.plan = plan

        def get_next_fire_time(self, previous_fire_time: datetime | None,
                               now: datetime) -> datetime | None:
            start = now if previous_fire_time is None else \
                max(now, previous_fire_time + timedelta(microseconds=1))
            return next(due_times(self.plan, start))

        def __str__(self) -> str:
            return f"digest {self.plan.describe()} ({self.plan.tz})"

    return DueTimes


@lru_cache(maxsize=4096)
def _trigger(plan: Plan) -> BaseTrigger:
    # Built once per distinct plan: the scheduler looks at every chat every few minutes.
    return _trigger_class()(plan)


@dataclass(frozen=True)
class Plan:
    """A chat's effective schedule: the defaults filled in."""

    at: time
    days: tuple[str, ...]                # empty: every day
    tz: str

    @classmethod
    def of(cls, chat: ChatSchedule, default_time: time, default_tz: str) -> Plan:
        return cls(chat.schedule.at or default_time, chat.schedule.days,
                   chat.timezone or default_tz)

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger of the chat's digest job."""
        return _trigger(self)

    def describe(self) -> str:
        """``daily at 08:00`` or ``at 07:30 on Mon, Wed``."""
        clock = self.at.strftime("%H:%M")
        if not self.days:
            return f"daily at {clock}"
        return f"at {clock} on {', '.join(d.capitalize() for d in self.days)}"


def due_times(plan: Plan, start: datetime, end: datetime | None = None) -> Iterator[datetime]:
    """The due times from ``start`` (up to ``end``), in UTC: the plan's local time on
    each of its days. A wall-clock time the clocks go back over is due once, the first
    time (as cron does); one the clocks skip is due at the instant it names in the offset
    before the jump (02:30 in Berlin on 31 March 2024 is 01:30 UTC, when the clocks read
    03:30).

    Computed here rather than by APScheduler's CronTrigger, which gets daylight saving
    wrong: asked for the next 00:00 after the night the clocks go forward it skips a
    day (agronholm/apscheduler#606), and it gives a repeated time twice, where stepping on
    from the second one in local time loops for ever."""
    tz = zone(plan.tz)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while True:
        if not plan.days or WEEKDAYS[day.weekday()] in plan.days:
            due = datetime.combine(day, plan.at, tzinfo=tz).astimezone(UTC)  # fold=0
            if end is not None and due > end:
                return
            if due >= start:
                yield due
        day += timedelta(days=1)


def next_due(plan: Plan, now: datetime) -> datetime:
    """The first due time at or after ``now``."""
    return next(due_times(plan, now))   # every plan has a day a week at least


def latest_due(plan: Plan, now: datetime, since: datetime) -> datetime | None:
    """The last due time in ``[since, now]``, if any."""
    latest = None
    for t in due_times(plan, since, now):
        latest = t
    return latest


# A scheduler pass asks this for every chat at one ``now``: chats share a few plans.
_latest_due = lru_cache(maxsize=256)(latest_due)


def due_to_send(plan: Plan, chat: ChatSchedule, now: datetime,
                grace: timedelta) -> datetime | None:
    """The due time of the digest this chat should get now, if any.

    That is the latest due time, unless it is older than ``grace`` (then the next
    digest covers its period instead), a digest for it or for a later time was sent
    (scheduled or on request), or it came before the chat was first seen or before its
    schedule last changed.
    """
    s = chat.schedule
    if not s.enabled or chat.blocked:
        return None
    due = _latest_due(plan, now, now - grace)
    if due is None:
        return None
    for mark in (s.last_due, s.period_end, s.changed_at, chat.first_seen):
        if mark is not None and due <= mark:
            return None
    return due
