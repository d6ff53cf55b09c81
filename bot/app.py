"""App wiring: one process, one event loop, a user client (the watcher), a bot client,
a scheduler and the database, shared by the components that do the work.

The same :class:`App` runs against Telegram (``tgmon run``) and against the simulated
Telegram (``tgmon run --simulate``): only the client factory and the clock differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.failures import failure, log_traceback
from bot.reconnect import keep_trying, unreachable
from bot.runtime import (
    Component,
    NotAuthorizedError,
    Runtime,
    Signal,
    StoppedWhileUnreachableError,
    utcnow,
)
from bot.telegram.account_end import AccountEndedError, account_ended
from bot.telegram.account_watch import EndWatch, settle
from bot.telegram.clients import Client, ClientFactory
from bot.watcher.session import SessionLock
from config.settings import Settings
from storage.account_ends import mark_resumed
from storage.db import Database, open_database
from storage.dbfile import SESSION_PLACE, make_private_dir

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

def default_components() -> list[Component]:
    """The components of tgmon, in start order (stopped in reverse). Each starts its
    background work and returns quickly."""
    from bot.alerts.comments import CommentAlerts
    from bot.alerts.dispatcher import AlertDispatcher
    from bot.commands import all_commands
    from bot.commands.component import BotCommands
    from bot.commands.context import Services
    from bot.delivery.sender import Sender
    from bot.digest.scheduling.component import DigestScheduler
    from bot.watcher.component import Watcher

    watcher, sender, digests = Watcher(), Sender(), DigestScheduler()
    services = Services(watcher=watcher, digests=digests, delivery=sender)
    return [watcher, sender, BotCommands(all_commands(), sender.messenger(), services),
            digests, AlertDispatcher(), CommentAlerts()]


class App:
    def __init__(self, settings: Settings, *, make_client: ClientFactory,
                 now: Callable[[], datetime] = utcnow,
                 components: Callable[[], Sequence[Component]] = default_components) -> None:
        self.settings = settings
        self.make_client = make_client
        self.now = now
        self._make_components = components
        self.components: list[Component] = []
        self.rt: Runtime | None = None
        self._db: Database | None = None     # also while starting and stopping
        self._lock: SessionLock | None = None
        self._stopped = asyncio.Event()
        self._stopping = asyncio.Event()       # stop() was asked for (also while starting)
        self.endings = EndWatch()              # Telegram ending an account stops the app

    @property
    def busy(self) -> bool:
        """True while the database thread works (the simulation's clock waits for it)."""
        return self._db is not None and self._db.busy

    async def start(self) -> Runtime:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        s = self.settings
        # One process per session: refuse before touching the database or the session.
        self._lock = SessionLock(s.user_session).acquire()
        try:
            db = self._db = await open_database(s.db_path)
        except BaseException:
            self._release_lock()
            raise
        user = bot = None
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            make_private_dir(s.session_dir, "the session files", SESSION_PLACE)
            user = self.make_client("user", s.user_session)
            self.endings.watch(user, "user")
            if s.bot_token:
                bot = self.make_client("bot", s.bot_session)
                bot.parse_mode = "html"
            rt = Runtime(s, db, self.now, user, bot, scheduler, Signal())
            components = list(self._make_components())
            for component in components:
                attach = getattr(component, "attach", None)
                if attach is not None:
                    attach(rt)
            # Telegram unreachable: say so once, keep trying with backoff (bot/reconnect.py)
            if not await keep_trying(user.connect, "the watching account", self._stopping):
                raise StoppedWhileUnreachableError(
                    "stopped before Telegram could be reached")
            if not await user.is_user_authorized():
                ended = self.endings.first
                if ended is None or ended.code == "AUTH_KEY_UNREGISTERED":
                    # never logged in, or logged out since: the same to Telegram
                    raise NotAuthorizedError(
                        f"the user session {s.user_session}.session is not logged in: "
                        "run `tgmon login` once in a terminal, then `tgmon run`")
                if bot is not None:             # to tell the admins
                    with contextlib.suppress(Exception):
                        await bot.start(bot_token=s.bot_token)
                raise AccountEndedError(ended)
            if bot is not None:
                started = bot
                if not await keep_trying(lambda: self._start_bot(started, s.bot_token or ""),
                                         "the bot", self._stopping):
                    raise StoppedWhileUnreachableError(
                        "stopped before Telegram could be reached")
            scheduler.start()
            for component in components:
                await component.start(rt)
                self.components.append(component)
            await mark_resumed(db, ("user", "bot") if bot is not None else ("user",),
                               self.now())
        except BaseException as e:
            try:
                if isinstance(e, AccountEndedError):
                    told = bot if e.ended.role == "user" and bot is not None \
                        and bot.is_connected() else None
                    await settle(e.ended, db, told, s.admins, self.now)
            finally:
                await self._teardown(db, user, bot, scheduler)
            raise
        self.rt = rt
        return rt

    async def _start_bot(self, bot: Client, token: str) -> None:
        """Log the bot in; a token Telegram refuses ends the run. Watched from then on
        (before, a fresh session's first answer is AUTH_KEY_UNREGISTERED by design)."""
        try:
            await bot.start(bot_token=token)
        except Exception as e:
            ended = account_ended(e, "bot")
            if ended is None:
                raise
            raise AccountEndedError(ended) from None
        self.endings.watch(bot, "bot")

    async def stop(self) -> None:
        self._stopping.set()
        if self.rt is None:
            return
        rt, self.rt = self.rt, None
        await self._teardown(rt.db, rt.user, rt.bot, rt.scheduler)
        self._stopped.set()

    async def _teardown(self, db: Database, user: Client | None,
                        bot: Client | None, scheduler: AsyncIOScheduler) -> None:
        while self.components:
            component = self.components.pop()
            try:
                await component.stop()
            except Exception as e:
                log.error("stopping %s failed: %s", component.name, failure(e))
                log_traceback(log, e)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for client in (bot, user):
            if client is not None:
                try:
                    await client.disconnect()
                except Exception as e:
                    log.error("disconnecting a client failed: %s", failure(e))
                    log_traceback(log, e)
        await db.close()
        self._db = None
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def run_until_stopped(self) -> None:
        """Start, then run until :meth:`stop` is called or a client ends for good. A
        client that gave up because Telegram could not be reached is connected again,
        with backoff, for as long as it takes. Raises
        :class:`~bot.telegram.account_end.AccountEndedError` if Telegram ended an account (after
        logging and recording it, and telling the admins if the bot still works)."""
        rt = self.rt or await self.start()
        clients = [("the watching account", rt.user)]
        if rt.bot is not None:
            clients.append(("the bot", rt.bot))
        try:
            while True:
                ends = {asyncio.ensure_future(c.disconnected): (what, c)
                        for what, c in clients}
                stop = asyncio.ensure_future(self._stopping.wait())
                account = asyncio.ensure_future(self.endings.wait())
                try:
                    done, _ = await asyncio.wait({stop, account, *ends},
                                                 return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in (stop, account, *ends):
                        w.cancel()
                gone = self.endings.first
                if gone is not None and not self._stopping.is_set():
                    told = rt.bot if gone.role == "user" else None
                    await settle(gone, rt.db, told, rt.settings.admins, self.now)
                    raise AccountEndedError(gone)
                ended = next((f for f in done if f in ends), None)
                if ended is None or self._stopping.is_set():
                    return
                error = None if ended.cancelled() else ended.exception()
                if not unreachable(error):
                    return                      # ended for good (logged out, stopped)
                what, client = ends[ended]
                await client.disconnect()       # ends its loops; the session is kept
                if not await keep_trying(client.connect, what, self._stopping,
                                         first_error=error):
                    return
                reconnected = getattr(client, "reconnected", None)   # a WatchingClient's
                if reconnected is not None:
                    await reconnected()         # the watcher catches up
        finally:
            await self.stop()
