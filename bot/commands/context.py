"""What a command handler receives: who asked, where, and how to answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.app import Runtime
from bot.commands.router import Access, Router
from storage.chats import Chat
from storage.db import Database


@dataclass(frozen=True)
class Button:
    label: str
    data: str                    # "<callback prefix>:<payload>", at most 64 bytes


Buttons = Sequence[Sequence[Button]]


class Messenger(Protocol):
    """Sends the bot's answers (HTML, Telethon's dialect) to a chat."""

    async def reply(self, chat_id: int, html: str, buttons: Buttons | None = None) -> None: ...


@dataclass
class Context:
    rt: Runtime
    messenger: Messenger
    router: Router               # every command, for /help
    chat: Chat                   # where the command was written (a person's or a group's chat)
    user_id: int                 # who wrote it
    level: Access

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
    def is_admin(self) -> bool:
        return self.level >= Access.ADMIN

    @property
    def tz(self) -> str:
        """The chat's time zone, or the default from the settings."""
        return self.chat.timezone or self.rt.settings.timezone

    def now(self) -> datetime:
        return self.rt.now()

    async def reply(self, html: str, buttons: Buttons | None = None) -> None:
        await self.messenger.reply(self.chat.chat_id, html, buttons)
