"""The watch list at run time, as plain state: the channels being watched, how each
one's capture goes, the kinds of request Telegram holds back, and what /find found.
No I/O: the watcher's functions read and change it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.telegram.records import ChannelAccess
from bot.watcher.health import ChannelHealth, FloodGate
from storage.watchlist import WatchEntry

FOUND_KEPT = 200            # /find results remembered for their buttons


@dataclass
class WatchState:
    live: dict[int, WatchEntry] = field(default_factory=dict)     # channel id -> entry
    health: dict[int, ChannelHealth] = field(default_factory=dict)
    found: dict[int, ChannelAccess] = field(default_factory=dict)  # /find, by channel id
    gate: FloodGate = field(default_factory=FloodGate)
    reconnects: int = 0                                             # since start

    def take_on(self, entry: WatchEntry) -> None:
        assert entry.channel_id is not None
        self.live[entry.channel_id] = entry
        self.health_of(entry.channel_id)

    def health_of(self, channel_id: int) -> ChannelHealth:
        return self.health.setdefault(channel_id, ChannelHealth())

    def remember(self, found: Iterable[ChannelAccess]) -> None:
        """Keep /find's results for their buttons (the latest :data:`FOUND_KEPT`)."""
        for access in found:
            self.found[access.channel.channel_id] = access
        while len(self.found) > FOUND_KEPT:
            del self.found[next(iter(self.found))]
