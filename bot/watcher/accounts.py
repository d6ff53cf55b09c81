"""One watching account's share of the watcher: its client, its live capture, its
catch-up sweeps (after start, after its reconnects), its look-ups (one queue, spaced,
its own budget) and its joins. Each account has its own flood gate, so one account's
wait never holds another's work."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.telegram.clients import Client
from bot.telegram.live import LiveCapture
from bot.watcher.catchup import Sweeper
from bot.watcher.membership import Joiner
from bot.watcher.resolver import Resolver


@dataclass
class AccountWork:
    name: str
    client: Client
    live: LiveCapture
    sweeper: Sweeper
    resolver: Resolver | None = None         # from the watcher's start on
    joiner: Joiner | None = None
    listeners: list[object] = field(default_factory=list)   # on the client: to remove

    @property
    def started(self) -> bool:
        return self.resolver is not None and self.joiner is not None

    async def stop(self) -> None:
        """Stop its work (the app stops, or Telegram ended the account)."""
        self.live.detach()
        for listener in self.listeners:
            found = getattr(self.client, "reconnect_listeners", None)
            if found is not None and listener in found:
                found.remove(listener)
        self.listeners.clear()
        await self.sweeper.stop()
        if self.joiner is not None:
            await self.joiner.stop()
