"""App wiring: one process, one event loop, a user client per watching account (the
watcher), a bot client, a scheduler and the database, shared by the components that do
the work.

The same :class:`App` runs against Telegram (``tgmon run``) and against the simulated
Telegram (``tgmon run --simulate``): only the client factory and the clock differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from bot.failures import failure, log_traceback
from bot.reconnect import keep_trying, unreachable
from bot.runtime import (
    Accounts,
    Component,
    NotAuthorizedError,
    Runtime,
    Signal,
    StoppedWhileUnreachableError,
    WatchingAccount,
    utcnow,
)
from bot.telegram.account_end import AccountEnded, AccountEndedError, account_ended
from bot.telegram.account_watch import EndWatch, record_loss, settle
from bot.telegram.clients import Client, ClientFactory, connect_afresh
from bot.watcher.session import SessionLock, logged_in_accounts
from config.accounts import MAIN
from config.settings import Settings
from storage.account_ends import mark_resumed
from storage.accounts import note_started
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
    from bot.delivery.webhook_sender import WebhookSender
    from bot.digest.scheduling.component import DigestScheduler
    from bot.media.downloader import MediaDownloader
    from bot.rules.indexer import WordIndexer
    from bot.watcher.component import Watcher

    watcher, sender, digests = Watcher(), Sender(), DigestScheduler()
    services = Services(watcher=watcher, digests=digests, delivery=sender)
    return [watcher, MediaDownloader(), sender, WebhookSender(),
            BotCommands(all_commands(), sender.messenger(), services), digests,
            AlertDispatcher(), WordIndexer(), CommentAlerts()]


class App:
    """``accounts``: the watching accounts to run (default: every account with a
    logged-in session file, see :func:`bot.watcher.session.logged_in_accounts`)."""

    def __init__(self, settings: Settings, *, make_client: ClientFactory,
                 now: Callable[[], datetime] = utcnow,
                 components: Callable[[], Sequence[Component]] = default_components,
                 accounts: Sequence[str] | None = None) -> None:
        self.settings = settings
        self.make_client = make_client
        self.now = now
        self._make_components = components
        self._account_names = list(accounts) if accounts is not None else None
        self.components: list[Component] = []
        self.rt: Runtime | None = None
        self._db: Database | None = None     # also while starting and stopping
        self._locks: dict[str, SessionLock] = {}
        self._stopped = asyncio.Event()
        self._stopping = asyncio.Event()       # stop() was asked for (also while starting)
        self.endings = EndWatch()              # Telegram ending an account (see run_until_stopped)

    @property
    def busy(self) -> bool:
        """True while the database thread works, or a component waits on the network
        outside Telegram (a webhook's answer): the simulation's clock waits for them."""
        return (self._db is not None and self._db.busy) or any(
            getattr(c, "busy", False) for c in self.components)

    async def start(self) -> Runtime:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        s = self.settings
        names = self._account_names or logged_in_accounts(s)
        # One process per session: refuse before touching the database or the sessions.
        self._lock_sessions(names)
        try:
            db = self._db = await open_database(s.db_path)
        except BaseException:
            self._release_locks()
            raise
        clients: dict[str, Client] = {}
        bot = None
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            make_private_dir(s.session_dir, "the session files", SESSION_PLACE)
            for name in names:
                clients[name] = self.make_client("user", s.account_session(name), name)
                self.endings.watch(clients[name], "user", name)
            if s.bot_token:
                bot = self.make_client("bot", s.bot_session)
                bot.parse_mode = "html"
            accounts = Accounts([WatchingAccount(n, c) for n, c in clients.items()])
            rt = Runtime(s, db, self.now, clients[names[0]], bot, scheduler, Signal(),
                         accounts=accounts)
            components = list(self._make_components())
            for component in components:
                attach = getattr(component, "attach", None)
                if attach is not None:
                    attach(rt)
            # Telegram unreachable: say so once, keep trying with backoff (bot/reconnect.py)
            for name, client in clients.items():
                if not await keep_trying(client.connect, _what(name, len(names)),
                                         self._stopping):
                    raise StoppedWhileUnreachableError(
                        "stopped before Telegram could be reached")
            await self._drop_unauthorised(rt, bot)
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
            running = tuple(accounts.names())
            await mark_resumed(db, ("user", "bot") if bot is not None else ("user",),
                               self.now(), running)
            await note_started(db, running, self.now())
        except BaseException as e:
            try:
                if isinstance(e, AccountEndedError):
                    told = bot if e.ended.role == "user" and bot is not None \
                        and bot.is_connected() else None
                    await settle(e.ended, db, told, s.admins, self.now,
                                 others=len(clients) - 1)
            finally:
                await self._teardown(db, list(clients.values()), bot, scheduler)
            raise
        self.rt = rt
        return rt

    def _lock_sessions(self, names: Sequence[str]) -> None:
        try:
            for name in names:
                self._locks[name] = SessionLock(self.settings.account_session(name)).acquire()
        except BaseException:
            self._release_locks()
            raise

    async def _drop_unauthorised(self, rt: Runtime, bot: Client | None) -> None:
        """Go on without the watching accounts that are not logged in (any more): with
        none left, refuse as before accounts were several (never logged in: not logged
        in; ended: the end); otherwise record the ended ones and warn about the rest.
        The watcher moves what they held."""
        s, accounts = self.settings, rt.accounts
        refused: list[tuple[str, AccountEnded | None]] = []
        for account in accounts.all:
            if not await account.client.is_user_authorized():
                ended = self.endings.of("user", account.name)
                # never logged in, or logged out since: the same to Telegram
                refused.append((account.name, None if ended is None
                                or ended.code == "AUTH_KEY_UNREGISTERED" else ended))
        self.endings.take()                     # handled here, not by run_until_stopped
        if len(refused) == len(accounts.all):
            name, ended = refused[0]
            if ended is None:
                option = "" if name == MAIN else f" --account {name}"
                raise NotAuthorizedError(
                    f"the user session {s.account_session(name)}.session is not logged in: "
                    f"run `tgmon login{option}` once in a terminal, then `tgmon run`")
            if bot is not None:             # to tell the admins
                with contextlib.suppress(Exception):
                    await bot.start(bot_token=s.bot_token)
            raise AccountEndedError(ended, accounts=len(accounts.all))
        for name, ended in refused:
            accounts.lose(name, None)
            gone = accounts.get(name)
            assert gone is not None
            await gone.client.disconnect()
            self._release_lock(name)
            left = accounts.names()
            if ended is not None:
                gone.ended = await record_loss(ended, rt.db, self.now, left)
            else:
                log.warning("the watching account %s is not logged in (%s.session): tgmon "
                            "runs without it (%s); `tgmon login --account %s` brings it back",
                            name, s.account_session(name), ", ".join(left), name)
        rt.user = accounts.running()[0].client

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
        await self._teardown(rt.db, [a.client for a in rt.accounts.all], rt.bot,
                             rt.scheduler)
        self._stopped.set()

    async def _teardown(self, db: Database, users: list[Client], bot: Client | None,
                        scheduler: AsyncIOScheduler) -> None:
        while self.components:
            component = self.components.pop()
            try:
                await component.stop()
            except Exception as e:
                log.error("stopping %s failed: %s", component.name, failure(e))
                log_traceback(log, e)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for client in (bot, *users):
            if client is not None:
                try:
                    await client.disconnect()
                except Exception as e:
                    log.error("disconnecting a client failed: %s", failure(e))
                    log_traceback(log, e)
        await db.close()
        self._db = None
        self._release_locks()

    def _release_lock(self, name: str) -> None:
        lock = self._locks.pop(name, None)
        if lock is not None:
            lock.release()

    def _release_locks(self) -> None:
        for name in list(self._locks):
            self._release_lock(name)

    async def run_until_stopped(self) -> None:
        """Start, then run until :meth:`stop` is called or a client ends for good. A
        client that gave up because Telegram could not be reached is connected again,
        with backoff, for as long as it takes. A watching account Telegram ends while
        others are left is recorded and let go (the watcher moves its channels); when
        the bot or the last watching account ends, raises
        :class:`~bot.telegram.account_end.AccountEndedError` (after logging and
        recording it, and telling the admins if the bot still works)."""
        rt = self.rt or await self.start()
        try:
            while True:
                count = len(rt.accounts.all)
                clients = [(_what(a.name, count), a.client) for a in rt.accounts.running()]
                if rt.bot is not None:
                    clients.append(("the bot", rt.bot))
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
                if self._stopping.is_set():
                    return
                if await self._settle_ends(rt):
                    continue                    # an account was let go: wait again
                ended = next((f for f in done if f in ends), None)
                if ended is None:
                    return
                error = None if ended.cancelled() else ended.exception()
                if not unreachable(error):
                    return                      # ended for good (logged out, stopped)
                what, client = ends[ended]
                await client.disconnect()       # ends its loops; the session is kept
                if not await keep_trying(partial(connect_afresh, client), what,
                                         self._stopping, first_error=error):
                    return
                reconnected = getattr(client, "reconnected", None)   # a WatchingClient's
                if reconnected is not None:
                    await reconnected()         # the watcher catches up
        finally:
            await self.stop()

    async def _settle_ends(self, rt: Runtime) -> bool:
        """Handle the ends met since the last look; True if any was (and tgmon goes on).
        Raises AccountEndedError when the bot or the last watching account ended."""
        taken = self.endings.take()
        for gone in taken:
            if gone.role != "user":
                await settle(gone, rt.db, None, rt.settings.admins, self.now)
                raise AccountEndedError(gone)
            account = rt.accounts.get(gone.account or MAIN)
            if account is None or not account.running:
                continue
            left = [n for n in rt.accounts.names() if n != account.name]
            if not left:
                await settle(gone, rt.db, rt.bot, rt.settings.admins, self.now,
                             others=len(rt.accounts.all) - 1)
                raise AccountEndedError(gone, accounts=len(rt.accounts.all))
            record = await record_loss(gone, rt.db, self.now, left)
            rt.accounts.lose(account.name, record)
            if rt.user is account.client:
                rt.user = rt.accounts.running()[0].client
            await account.client.disconnect()
            self._release_lock(account.name)    # `tgmon login --account` may run now
        return bool(taken)


def _what(account: str, count: int) -> str:
    """How logs name a watching account's client."""
    return "the watching account" if count == 1 else f"the watching account {account}"
