"""Times as people read them: in their own time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(dt: datetime, tz: str, *, with_date: bool = True) -> str:
    """``12 Mar 2024 08:15 MSK`` (or ``08:15 MSK``) in the IANA zone ``tz``."""
    t = dt.astimezone(ZoneInfo(tz))
    zone = t.strftime("%Z")
    if zone.startswith(("+", "-")):  # zones without an abbreviation: show the offset
        zone = f"UTC{zone}"
    return t.strftime("%d %b %Y %H:%M " if with_date else "%H:%M ") + zone
