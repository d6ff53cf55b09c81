"""Sending the bot's answers straight through Telethon, with the errors handled that
every send can meet (blocked user, flood wait)."""

from __future__ import annotations

import logging

from telethon import Button as TelethonButton
from telethon import errors

from bot.app import Runtime
from bot.commands.context import Buttons
from storage.chats import mark_blocked

log = logging.getLogger(__name__)


def telethon_buttons(buttons: Buttons | None) -> list[list[TelethonButton]] | None:
    if not buttons:
        return None
    return [[TelethonButton.inline(b.label, b.data.encode()) for b in row] for row in buttons]


class DirectMessenger:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def reply(self, chat_id: int, html: str, buttons: Buttons | None = None) -> None:
        bot = self.rt.bot
        assert bot is not None
        try:
            await bot.send_message(chat_id, html, parse_mode="html", link_preview=False,
                                   buttons=telethon_buttons(buttons))
        except (errors.UserIsBlockedError, errors.InputUserDeactivatedError,
                errors.ChatWriteForbiddenError):
            log.info("chat %s cannot be written to any more; marked blocked", chat_id)
            await mark_blocked(self.rt.db, chat_id, self.rt.now())
        except errors.FloodWaitError as e:
            log.warning("reply to chat %s dropped: flood wait of %s s", chat_id, e.seconds)
