"""Which period a digest covers: since the previous digest, or what the user asked for.

A digest never covers more than :data:`MAX_PERIOD`; the latest part is kept. Times are
passed in (``now``), never read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from config.errors import TgmonError
from storage.digest_queries import Period

MAX_PERIOD = timedelta(days=7)
DEFAULT_PERIOD = timedelta(hours=24)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PeriodError(TgmonError):
    """A digest period that cannot be used."""


def period_since(previous: datetime | None, now: datetime, *,
                 default: timedelta = DEFAULT_PERIOD) -> Period:
    """The period of a scheduled digest: since the subscriber's previous digest (or the
    last ``default`` for a first one), at most the last :data:`MAX_PERIOD`, up to ``now``."""
    start = now - default if previous is None else previous
    start = max(start, now - MAX_PERIOD)
    if start >= now:
        # A digest asked for again at the same instant: an empty but valid period.
        start = now - timedelta(seconds=1)
    return Period(start, now)


def parse_when(text: str, *, option: str, end_of_day: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO 8601 timestamp; naive times are UTC. A bare date is the
    start of that UTC day, or the start of the next with ``end_of_day`` (so
    ``--until 2024-03-12`` includes the whole 12th)."""
    s = text.strip()
    if _DATE.fullmatch(s):
        try:
            day = date.fromisoformat(s)
        except ValueError:
            raise PeriodError(f"{option} {text!r}: no such date") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        when = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise PeriodError(
            f"{option} {text!r} is not a date or time: use YYYY-MM-DD or an ISO timestamp "
            "such as 2024-03-12T08:00 (UTC) or 2024-03-12T08:00+03:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


@dataclass(frozen=True)
class RequestedPeriod:
    period: Period
    capped_from: datetime | None = None    # the start asked for, when it was moved to fit


def requested_period(since: str | None, until: str | None, now: datetime, *,
                     default: timedelta = DEFAULT_PERIOD) -> RequestedPeriod:
    """The period of ``--since``/``--until`` (default: the last ``default`` up to now),
    capped to the last :data:`MAX_PERIOD` of it."""
    end = parse_when(until, option="--until", end_of_day=True) if until else now.astimezone(UTC)
    start = parse_when(since, option="--since") if since else end - default
    if start >= end:
        raise PeriodError(
            f"the period is empty: --since ({start:%Y-%m-%d %H:%M} UTC) must be before "
            f"--until ({end:%Y-%m-%d %H:%M} UTC)")
    if end - start > MAX_PERIOD:
        return RequestedPeriod(Period(end - MAX_PERIOD, end), capped_from=start)
    return RequestedPeriod(Period(start, end))
