"""The watch list at run time, as plain state: the channels being watched (each with
the watching account that holds it), how each one's capture goes, per account the kinds
of request Telegram holds back and its flood waits, and what /find found. No I/O: the
watcher's functions read and change it."""

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
    gates: dict[str, FloodGate] = field(default_factory=dict)      # per watching account
    flood_waits: dict[str, int] = field(default_factory=dict)      # per account, since start
    # accounts Telegram refused a join to (CHANNELS_TOO_MUCH): channels joined then
    full: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0                                             # since start

    def take_on(self, entry: WatchEntry) -> None:
        assert entry.channel_id is not None
        self.live[entry.channel_id] = entry
        self.health_of(entry.channel_id)

    def health_of(self, channel_id: int) -> ChannelHealth:
        return self.health.setdefault(channel_id, ChannelHealth())

    def gate_of(self, account: str) -> FloodGate:
        """The kinds of request Telegram holds back for ``account`` (one account's wait
        never holds another's work)."""
        return self.gates.setdefault(account, FloodGate())

    def held_by(self, account: str) -> list[int]:
        return [cid for cid, e in self.live.items() if e.account == account]

    def remember(self, found: Iterable[ChannelAccess]) -> None:
        """Keep /find's results for their buttons (the latest :data:`FOUND_KEPT`)."""
        for access in found:
            self.found[access.channel.channel_id] = access
        while len(self.found) > FOUND_KEPT:
            del self.found[next(iter(self.found))]
