"""What a command handler receives: who asked, where, and how to answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.commands.router import Access, Router
from bot.runtime import Runtime
from storage.chats import Chat
from storage.db import Database

if TYPE_CHECKING:
    from bot.telegram.records import ChannelAccess
    from bot.telegram.requests import Resolution
    from bot.watcher.health import ChannelHealth
    from storage.watchlist import WatchEntry


@dataclass(frozen=True)
class Button:
    label: str
    data: str                    # "<callback prefix>:<payload>", at most 64 bytes


Buttons = Sequence[Sequence[Button]]


class Messenger(Protocol):
    """Sends the bot's answers (HTML, Telethon's dialect) to a chat."""

    async def reply(self, chat_id: int, html: str, buttons: Buttons | None = None) -> None: ...


class WatchOps(Protocol):
    """What the admins' commands ask of the watcher (:class:`bot.watcher.component.Watcher`)."""

    @property
    def running(self) -> bool: ...

    @property
    def health(self) -> Mapping[int, ChannelHealth]: ...

    async def watch(self, username: str, added_by: int,
                    timeout: float = 30.0) -> tuple[WatchEntry, Resolution | None]: ...

    async def watch_found(self, channel_id: int, added_by: int) -> WatchEntry | None: ...

    async def unwatch(self, entry: WatchEntry) -> None: ...

    async def search(self, query: str, limit: int = 10) -> list[ChannelAccess]: ...


class DigestOps(Protocol):
    """What /digest and /timezone ask of the digest scheduler."""

    @property
    def running(self) -> bool: ...

    async def sync_chat(self, chat_id: int) -> None: ...

    async def send_now(self, chat_id: int) -> bool: ...


class DeliveryStats(Protocol):
    """What /status shows of the sender."""

    flood_waits: int


@dataclass(frozen=True)
class Services:
    """The other components the commands work with, handed in when the app is wired
    (None: not part of this app)."""

    watcher: WatchOps | None = None
    digests: DigestOps | None = None
    delivery: DeliveryStats | None = None


@dataclass
class Context:
    rt: Runtime
    messenger: Messenger
    router: Router               # every command, for /help
    chat: Chat                   # where the command was written (a person's or a group's chat)
    user_id: int                 # who wrote it
    level: Access
    services: Services = field(default_factory=Services)

    @property
    def db(self) -> Database:
        return self.rt.db

    @property
    def chat_id(self) -> int:
        return self.chat.chat_id

    @property
    def is_group(self) -> bool:
        return self.chat.kind == "group"

    @property
    def tz(self) -> str:
        """The chat's time zone, or the default from the settings."""
        return self.chat.timezone or self.rt.settings.timezone

    def now(self) -> datetime:
        return self.rt.now()

    def digests(self) -> DigestOps | None:
        """The digest scheduler, if it runs in this app."""
        found = self.services.digests
        return found if found is not None and found.running else None

    async def reply(self, html: str, buttons: Buttons | None = None) -> None:
        await self.messenger.reply(self.chat.chat_id, html, buttons)
