"""What people send the bot, as tgmon's own records: a message or a button press
(:class:`Incoming`), handed to the command loop (:mod:`bot.commands.component`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telethon import events


@dataclass(frozen=True)
class Person:
    """Who wrote, and the chat they wrote in, as the bot records them."""

    chat_title: str | None
    first_name: str | None
    username: str | None


def _name(entity: Any) -> str | None:
    parts = [getattr(entity, "first_name", None), getattr(entity, "last_name", None)]
    name = " ".join(p for p in parts if p)
    return name or getattr(entity, "title", None)


class Incoming:
    """A message (``text``) or a button press (``data``) in a chat with the bot."""

    def __init__(self, event: Any, *, press: bool = False) -> None:
        self._event = event
        self.chat_id: int = event.chat_id
        self.sender_id: int | None = event.sender_id
        self.private: bool = event.is_private
        self.text: str = "" if press else event.raw_text or ""
        self.data: str | None = event.data.decode(errors="replace") if press else None

    async def person(self) -> Person:
        sender = await self._event.get_sender()
        chat = sender if self.private else await self._event.get_chat()
        return Person(_name(chat), _name(sender), getattr(sender, "username", None))

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer a button press (the spinner on the button stops; ``text`` pops up)."""
        if text is None:
            await self._event.answer()
        else:
            await self._event.answer(text, alert=alert)


Handler = Callable[[Incoming], Awaitable[None]]


class BotEvents:
    """The bot client's new messages and button presses, to two handlers."""

    def __init__(self, on_message: Handler, on_press: Handler) -> None:
        self.on_message = on_message
        self.on_press = on_press
        self._client: Any = None

    async def _message(self, event: Any) -> None:
        await self.on_message(Incoming(event))

    async def _press(self, event: Any) -> None:
        await self.on_press(Incoming(event, press=True))

    def attach(self, client: Any) -> None:
        self._client = client
        client.add_event_handler(self._message, events.NewMessage(incoming=True))
        client.add_event_handler(self._press, events.CallbackQuery())

    def detach(self) -> None:
        if self._client is not None:
            self._client.remove_event_handler(self._message)
            self._client.remove_event_handler(self._press)
            self._client = None


async def bot_username(client: Any) -> str | None:
    me = await client.get_me()
    return getattr(me, "username", None)
