"""Noticing, in a running app, that Telegram ended one of its accounts, and saying so:
the log, the database (``tgmon stats``, ``/status``), and one message to the admins
through the bot while the bot still works. :class:`~bot.app.App` then stops and
``tgmon run`` exits with the reason (:class:`~bot.telegram.account_end.AccountEndedError`).

Every request of the app's clients passes :meth:`EndWatch.watch`'s check, whichever
component made it (the watcher's reads, the sender, Telethon's own update loop), so
the first answer that ends an account is seen at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from bot.failures import failure
from bot.telegram.account_end import AccountEnded, account_ended
from storage.account_ends import mark_notified, record_end
from storage.db import Database

if TYPE_CHECKING:
    from telethon import TelegramClient

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0        # seconds for the notice to one admin


class EndWatch:
    """Keeps the first account end any request of the watched clients met."""

    def __init__(self) -> None:
        self.first: AccountEnded | None = None
        self._event = asyncio.Event()

    def watch(self, client: TelegramClient, role: str) -> None:
        """Check every request ``client`` makes (``TelegramClient.__call__`` goes
        through ``_call``; so do Telethon's own getDifference requests)."""
        call = client._call

        async def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except Exception as e:
                self.saw(e, role)
                raise
        client._call = checked

    def saw(self, error: BaseException, role: str) -> None:
        ended = account_ended(error, role)
        if ended is not None and self.first is None:
            self.first = ended
            self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


async def settle(ended: AccountEnded, db: Database, bot: TelegramClient | None,
                 admins: frozenset[int], now: Callable[[], datetime]) -> None:
    """Log and record the end; if the watching account ended and the bot works, tell
    the admins (once per end, also across restarts)."""
    log.error("Telegram ended an account: %s; tgmon stops", ended.reason)
    record = await record_end(db, ended.role, ended.code, ended.reason, now())
    if ended.role != "user" or bot is None or not admins or record.notified_at is not None:
        return
    html = (f"⛔ <b>tgmon has stopped</b>: {escape(ended.what)} "
            f"(<code>{escape(ended.code)}</code>). Nothing is captured until you "
            f"{escape(ended.advice.replace('`', ''))}.")
    told = 0
    for admin in sorted(admins):
        try:
            await asyncio.wait_for(bot.send_message(admin, html, parse_mode="html",
                                                    link_preview=False), SEND_TIMEOUT)
            told += 1
        except Exception as e:
            log.warning("telling admin %s that the account ended failed: %s", admin,
                        failure(e))
    if told:
        await mark_notified(db, record.id, now())
