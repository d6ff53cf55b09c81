"""Dates and times people type (``--since``, ``--until``, ``/export since DATE``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from config.errors import TgmonError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# The ends of time as datetime holds it: a date beyond them (``--until 9999-12-31``,
# whose next day Python cannot hold) is taken as "no bound" and clamped to them.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


class DateOptionError(TgmonError):
    """A value that is not a date or time."""


def earlier(moment: datetime, delta: timedelta) -> datetime:
    """``moment - delta``, or :data:`EARLIEST` when that is before the start of time."""
    try:
        return moment - delta
    except OverflowError:
        return EARLIEST


def parse_when(value: str, option: str, *, end: bool = False,
               tz: tzinfo = UTC) -> datetime:
    """``YYYY-MM-DD`` or an ISO 8601 timestamp (no offset means ``tz``, by default UTC),
    as an aware UTC time.

    With ``end`` the result is an exclusive upper bound that includes what was named:
    the whole day for a date (``--until 2024-03-12`` includes the 12th), the whole
    second for a timestamp. Times in the log have whole seconds, so a start with a
    fraction of a second moves up to the next whole one. A time beyond what datetime
    holds (the day after 9999-12-31) is clamped to :data:`LATEST` (or :data:`EARLIEST`).
    """
    text = value.strip()
    try:
        return _parse(text, end, tz)
    except ValueError:
        raise DateOptionError(
            f"{option} {value!r} is not a date: use YYYY-MM-DD or an ISO 8601 timestamp "
            f"such as 2024-03-12T05:17:00Z (no offset means {_zone_name(tz)})") from None


def _parse(text: str, end: bool, tz: tzinfo) -> datetime:
    """As :func:`parse_when`; ValueError for what is not a date."""
    if _DATE.fullmatch(text):
        day = date.fromisoformat(text)
        try:
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        except OverflowError:
            return LATEST if day.year == date.max.year else EARLIEST
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        parsed = parsed.astimezone(UTC)
        if end or parsed.microsecond:
            return parsed.replace(microsecond=0) + timedelta(seconds=1)
    except OverflowError:
        return LATEST if parsed.year == date.max.year else EARLIEST
    return parsed


def _zone_name(tz: tzinfo) -> str:
    return "UTC" if tz is UTC else str(getattr(tz, "key", None) or tz)
