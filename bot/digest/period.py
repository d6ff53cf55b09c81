"""Which period a digest covers: since the previous digest, or what the user asked for.

A digest never covers more than :data:`MAX_PERIOD`; the latest part is kept. Times are
passed in (``now``), never read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from config.dates import LATEST, earlier, parse_when
from config.errors import TgmonError
from storage.digest_queries import Period

MAX_PERIOD = timedelta(days=7)
# No post is older: a period ending before it is refused (and datetime's year 1 is
# never computed with).
TELEGRAM_LAUNCH = datetime(2013, 8, 14, tzinfo=UTC)
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


@dataclass(frozen=True)
class RequestedPeriod:
    period: Period
    capped_from: datetime | None = None    # the start asked for, when it was moved to fit


def requested_period(since: str | None, until: str | None, now: datetime, *,
                     default: timedelta = DEFAULT_PERIOD) -> RequestedPeriod:
    """The period of ``--since``/``--until`` (default: the last ``default`` up to now),
    capped to the last :data:`MAX_PERIOD` of it."""
    end = parse_when(until, "--until", end=True) if until else now.astimezone(UTC)
    asked_start = parse_when(since, "--since") if since else None
    if asked_start is not None and asked_start > now:
        raise PeriodError(
            f"--since {asked_start:%Y-%m-%d %H:%M} UTC is after now: nothing has been "
            "posted then yet")
    if end == LATEST:
        end = now.astimezone(UTC)         # "until the end of time": up to now
    start = asked_start if asked_start is not None else earlier(end, default)
    if start >= end:
        raise PeriodError(
            f"the period is empty: --since ({start:%Y-%m-%d %H:%M} UTC) must be before "
            f"--until ({end:%Y-%m-%d %H:%M} UTC)")
    if end <= TELEGRAM_LAUNCH:
        raise PeriodError(
            f"the period ends {end:%Y-%m-%d}, before Telegram existed (August 2013): "
            "nothing to digest; check --until")
    if end - start > MAX_PERIOD:
        return RequestedPeriod(Period(earlier(end, MAX_PERIOD), end), capped_from=start)
    return RequestedPeriod(Period(start, end))
