"""Time zones by IANA name: the one parser for every zone people type (settings, CLI
options, /timezone) and for names tgmon stored earlier."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownZoneError(ValueError):
    """Not an IANA time zone name this machine knows."""


def parse_zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (``Europe/Kyiv``, ``UTC``); raises
    :class:`UnknownZoneError` for a name that is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZoneError(f"unknown time zone {name!r}") from None


def zone_or_utc(name: str) -> ZoneInfo:
    """The zone of a name stored earlier; UTC if it is unknown now (tzdata changed)."""
    try:
        return parse_zone(name)
    except UnknownZoneError:
        return ZoneInfo("UTC")
