"""Telegram's limits and the faults a scenario or test switches on, measured on the
simulation's clock.

* flood waits: a method answers ``FLOOD_WAIT_X`` until a given moment (per account);
* resolving usernames: a standing budget per account (so many per window);
* the bot's sends: 30 per second overall, 1 per second per chat, 20 per minute per group;
* lengths: 4096 UTF-16 code units of text, 1024 of caption, counted after entity parsing;
* pushes dropped until a given moment.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.sim.tl import RpcFail, flood_wait
from storage.models import utf16_len

MESSAGE_LENGTH_MAX = 4096
CAPTION_LENGTH_MAX = 1024


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event is allowed (0 if it is allowed now)."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[len(self._times) - self.limit] + self.window - now

    def add(self, now: float) -> None:
        self._times.append(now)


class BotSendLimits:
    """The bot's send limits (Bot FAQ "My bot is hitting limits")."""

    def __init__(self, per_second: int = 30, per_chat_second: int = 1,
                 per_group_minute: int = 20) -> None:
        self.per_chat_second = per_chat_second
        self.per_group_minute = per_group_minute
        self._overall = SlidingWindow(per_second, 1.0)
        self._chats: dict[int, SlidingWindow] = {}
        self._groups: dict[int, SlidingWindow] = {}

    def check(self, chat_id: int, *, group: bool, now: float) -> None:
        """Raise ``FLOOD_WAIT_X`` if a send to ``chat_id`` now is over a limit; else count it."""
        windows = [self._overall,
                   self._chats.setdefault(chat_id, SlidingWindow(self.per_chat_second, 1.0))]
        if group:
            windows.append(self._groups.setdefault(
                chat_id, SlidingWindow(self.per_group_minute, 60.0)))
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            raise flood_wait(wait)
        for w in windows:
            w.add(now)


@dataclass
class Faults:
    """Switchable misbehaviour, keyed by account id where it is per account."""

    flood_until: dict[tuple[int, str], float] = field(default_factory=dict)
    drop_until: dict[int, float] = field(default_factory=dict)
    unreachable_until: dict[int, float] = field(default_factory=dict)
    resolve: dict[int, SlidingWindow] = field(default_factory=dict)
    resolve_budget: int = 200
    resolve_window: float = 24 * 3600.0

    def check_flood(self, account_id: int, method: str, now: float) -> None:
        until = self.flood_until.get((account_id, method))
        if until is not None and now < until:
            raise flood_wait(until - now)

    def check_resolve(self, account_id: int, now: float) -> None:
        window = self.resolve.setdefault(
            account_id, SlidingWindow(self.resolve_budget, self.resolve_window))
        wait = window.wait(now)
        if wait > 0:
            raise flood_wait(wait)
        window.add(now)

    def dropping(self, account_id: int, now: float) -> bool:
        return now < self.drop_until.get(account_id, float("-inf"))

    def unreachable(self, account_id: int, now: float) -> bool:
        return now < self.unreachable_until.get(account_id, float("-inf"))


def check_text(text: str, *, caption: bool) -> None:
    """``MESSAGE_TOO_LONG`` / ``MEDIA_CAPTION_TOO_LONG`` as Telegram counts: UTF-16 units
    of the text the server received (entities already parsed out by the client)."""
    units = utf16_len(text)
    if caption and units > CAPTION_LENGTH_MAX:
        raise RpcFail(400, "MEDIA_CAPTION_TOO_LONG")
    if not caption and units > MESSAGE_LENGTH_MAX:
        raise RpcFail(400, "MESSAGE_TOO_LONG")
    if not caption and not text.strip():
        raise RpcFail(400, "MESSAGE_EMPTY")


def check_entities(text: str, entities: list | None) -> None:
    units = utf16_len(text)
    for e in entities or ():
        if e.offset < 0 or e.length <= 0 or e.offset + e.length > units:
            raise RpcFail(400, "ENTITY_BOUNDS_INVALID")
