"""Noticing, in a running app, that Telegram ended one of its accounts, and saying so:
the log, the database (``tgmon stats``, ``/status``), and one message to the admins
through the bot while the bot still works. When a watching account ends and others are
left, :class:`~bot.app.App` goes on without it (the watcher moves its channels and
tells the admins); when the bot or the last watching account ends, it stops and
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
from config.accounts import MAIN
from storage.account_ends import AccountEnd, mark_notified, record_end
from storage.db import Database

if TYPE_CHECKING:
    from telethon import TelegramClient

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0        # seconds for the notice to one admin


class EndWatch:
    """Keeps the first end each watched client met, in the order they were met."""

    def __init__(self) -> None:
        self.ends: dict[tuple[str, str], AccountEnded] = {}    # (role, account) -> end
        self._unseen: list[AccountEnded] = []
        self._event = asyncio.Event()

    @property
    def first(self) -> AccountEnded | None:
        return next(iter(self.ends.values()), None)

    def of(self, role: str, account: str = MAIN) -> AccountEnded | None:
        return self.ends.get((role, account if role == "user" else ""))

    def watch(self, client: TelegramClient, role: str, account: str = MAIN) -> None:
        """Check every request ``client`` makes (``TelegramClient.__call__`` goes
        through ``_call``; so do Telethon's own getDifference requests)."""
        call = client._call

        async def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                return await call(*args, **kwargs)
            except Exception as e:
                self.saw(e, role, account)
                raise
        client._call = checked

    def saw(self, error: BaseException, role: str, account: str = MAIN) -> None:
        ended = account_ended(error, role, account)
        key = (role, account if role == "user" else "")
        if ended is not None and key not in self.ends:
            self.ends[key] = ended
            self._unseen.append(ended)
            self._event.set()

    def take(self) -> list[AccountEnded]:
        """The ends met since the last call, oldest first."""
        taken, self._unseen = self._unseen, []
        self._event.clear()
        return taken

    async def wait(self) -> None:
        """Until an end is met that :meth:`take` has not returned yet."""
        await self._event.wait()


async def settle(ended: AccountEnded, db: Database, bot: TelegramClient | None,
                 admins: frozenset[int], now: Callable[[], datetime], *,
                 others: int = 0) -> None:
    """Log and record the end that stops tgmon; if a watching account ended and the bot
    works, tell the admins (once per end, also across restarts). ``others``: watching
    accounts Telegram ended before this one in the same run (then none is left)."""
    log.error("Telegram ended an account: %s; tgmon stops", ended.reason)
    record = await record_end(db, ended.role, ended.code, ended.reason, now(), ended.account)
    if ended.role != "user" or bot is None or not admins or record.notified_at is not None:
        return
    left = " No watching account is left." if others else ""
    html = (f"⛔ <b>tgmon has stopped</b>: {escape(ended.what)} "
            f"(<code>{escape(ended.code)}</code>).{left} Nothing is captured until you "
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


async def record_loss(ended: AccountEnded, db: Database, now: Callable[[], datetime],
                      left: list[str]) -> AccountEnd:
    """A watching account ended while others (``left``) go on: log and record it. (The
    watcher moves its channels and tells the admins what moved.)"""
    log.error("Telegram ended an account: %s; its channels move to the other accounts "
              "(%s)", ended.reason, ", ".join(left))
    return await record_end(db, ended.role, ended.code, ended.reason, now(), ended.account)
