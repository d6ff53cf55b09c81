"""How each channel's capture is doing, and which kinds of request Telegram has asked
the watcher to hold back (pure bookkeeping: no I/O, times passed in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The kinds of request the watcher makes; a flood wait pauses one kind only.
HISTORY = "messages.getHistory"       # catch-up, reconcile, backfill
MESSAGES = "channels.getMessages"     # re-check of recent posts
RESOLVE = "contacts.resolveUsername"
JOIN = "channels.joinChannel"

MAX_BACKOFF = timedelta(hours=6)


class FloodGate:
    """Per request kind, the moment Telegram allows it again."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    def close(self, kind: str, seconds: float, now: datetime) -> datetime:
        until = now + timedelta(seconds=seconds)
        if until > self._until.get(kind, now):
            self._until[kind] = until
        return self._until[kind]

    def closed_until(self, kind: str, now: datetime) -> datetime | None:
        """When ``kind`` may be asked again, or None if it may be asked now."""
        until = self._until.get(kind)
        if until is None or until <= now:
            self._until.pop(kind, None)
            return None
        return until


def backoff(failures: int, base: timedelta, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """The wait before retrying after ``failures`` failures in a row: doubling, capped."""
    if failures <= 0:
        return base
    return min(base * (2 ** min(failures - 1, 20)), cap)


@dataclass
class ChannelHealth:
    """In-memory health of one channel's capture (the journal in the database keeps
    the history; this keeps the current streak)."""

    failures: dict[str, int] = field(default_factory=dict)   # job kind -> failures in a row
    last_error: str | None = None       # error class of the latest failure
    last_ok: datetime | None = None     # the latest run that worked
    flood_waits: int = 0                # since start

    @property
    def failing(self) -> bool:
        return any(self.failures.values())


def describe_wait(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"
