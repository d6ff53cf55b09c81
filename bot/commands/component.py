"""The bot's command loop: messages and button presses in (:mod:`bot.telegram.bot_events`),
routed command calls out.

Every message and button press is checked against the caller's access level before
its handler runs; a refusal says why.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from bot.commands.access import level_of, refusal
from bot.commands.context import Context, Messenger, Services
from bot.commands.router import Access, Router, UsageError, kwargs_for, split_command
from bot.failures import failure, log_traceback
from bot.runtime import Runtime
from bot.telegram.bot_events import BotEvents, Incoming, bot_username
from config.errors import TgmonError
from storage.chats import Chat, get_chat, grant_of, touch

log = logging.getLogger(__name__)


class BotCommands:
    name = "bot commands"

    def __init__(self, router: Router, messenger: Messenger,
                 services: Services | None = None) -> None:
        self.router = router
        self.messenger = messenger
        self.services = services or Services()
        self.rt: Runtime | None = None
        self.bot_username: str | None = None
        self._events = BotEvents(self._on_message, self._on_press)

    def attach(self, rt: Runtime) -> None:
        if rt.bot is None:
            log.warning("no TGMON_BOT_TOKEN: the bot is off (capture only)")
            return
        self.rt = rt
        self._events.attach(rt.bot)

    async def start(self, rt: Runtime) -> None:
        if rt.bot is not None:
            self.bot_username = await bot_username(rt.bot)

    async def stop(self) -> None:
        self._events.detach()
        self.rt = None

    async def _who(self, event: Incoming) -> tuple[Chat, int, Access]:
        """Record the chat and the person, and the person's access level."""
        rt = self.rt
        assert rt is not None
        person = await event.person()
        user_id = event.sender_id
        assert user_id is not None
        await touch(rt.db, chat_id=event.chat_id,
                    kind="private" if event.private else "group", title=person.chat_title,
                    user_id=user_id, first_name=person.first_name, username=person.username,
                    now=rt.now())
        stored = await get_chat(rt.db, event.chat_id)
        assert stored is not None
        level = level_of(user_id, rt.settings, await grant_of(rt.db, user_id))
        return stored, user_id, level

    async def _on_message(self, event: Incoming) -> None:
        rt = self.rt
        if rt is None or event.sender_id is None:
            return
        split = split_command(event.text, self.bot_username)
        if split is None:
            if event.private:
                await self.messenger.reply(event.chat_id, "Send /help to see what I can do.")
            return
        chat, user_id, level = await self._who(event)
        ctx = Context(rt, self.messenger, self.router, chat, user_id, level, self.services)
        name, rest = split
        try:
            call = self.router.resolve(name, rest)
        except UsageError as e:
            if e.command.access > level:
                await ctx.reply(refusal(e.command.access, level, rt.settings, user_id))
            else:
                await ctx.reply(html.escape(str(e)))
            return
        if call is None:
            if event.private:
                await ctx.reply(f"Unknown command /{html.escape(name)}. Send /help for the list.")
            return
        if call.command.access > level:
            await ctx.reply(refusal(call.command.access, level, rt.settings, user_id))
            return
        await self._run(ctx, call.command.name, call.command.handler, **kwargs_for(call))

    async def _on_press(self, event: Incoming) -> None:
        rt = self.rt
        if rt is None:
            return
        found = self.router.resolve_callback(event.data or "")
        chat, user_id, level = await self._who(event)
        if found is None:
            await event.answer("This button no longer works.")
            return
        callback, payload = found
        if callback.access > level:
            await event.answer("Not allowed.", alert=True)
            return
        await event.answer()
        ctx = Context(rt, self.messenger, self.router, chat, user_id, level, self.services)
        await self._run(ctx, callback.prefix, callback.handler, payload)

    async def _run(self, ctx: Context, what: str, handler: Any, *args: Any, **kwargs: Any) -> None:
        try:
            await handler(ctx, *args, **kwargs)
        except TgmonError as e:
            await ctx.reply(html.escape(str(e)))
        except Exception as e:
            log.error("command %s failed: %s", what, failure(e))
            log_traceback(log, e)
            await ctx.reply("Something went wrong; the admins can see it in the log.")
