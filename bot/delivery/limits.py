"""Telegram's limits on what a bot may send, kept rather than run into.

Telegram: about 30 messages per second overall, one per second in a chat, 20 per
minute in a group; going over answers FLOOD_WAIT. The limiter stays a little under
each, so a fan-out runs at ~95% of the overall limit without a flood wait.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class SendLimits:
    per_second: int = 29            # overall, over any 1 s window (+ margin)
    window: float = 1.02
    chat_interval: float = 1.1      # between two messages to one chat
    group_per_minute: int = 19      # per group, over any 60 s window
    group_window: float = 61.0


class RateLimiter:
    """Pure bookkeeping over send times (seconds on any one clock)."""

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limits = limits or SendLimits()
        self._recent: deque[float] = deque()
        self._last_in_chat: dict[int, float] = {}
        self._group_recent: dict[int, deque[float]] = {}

    def earliest(self, chat_id: int, is_group: bool, now: float) -> float:
        """The first moment (>= now) a message to this chat keeps every limit."""
        lim = self.limits
        t = now
        while self._recent and self._recent[0] <= now - lim.window:
            self._recent.popleft()
        if len(self._recent) >= lim.per_second:
            t = max(t, self._recent[-lim.per_second] + lim.window)
        last = self._last_in_chat.get(chat_id)
        if last is not None:
            t = max(t, last + lim.chat_interval)
        if is_group:
            recent = self._group_recent.get(chat_id)
            if recent:
                while recent and recent[0] <= now - lim.group_window:
                    recent.popleft()
                if len(recent) >= lim.group_per_minute:
                    t = max(t, recent[-lim.group_per_minute] + lim.group_window)
        return t

    def record(self, chat_id: int, is_group: bool, at: float) -> None:
        self._recent.append(at)
        self._last_in_chat[chat_id] = at
        if is_group:
            self._group_recent.setdefault(chat_id, deque()).append(at)
