"""What the components of a running app share, and how they are started: a leaf
module (it imports no component), so components and the app can both import it.

Components get what they need from :class:`Runtime` (the database, the clients, the
clock, the signals that connect them) or through their constructors (the watcher's
operations for the admins' commands); they never look each other up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from config.accounts import MAIN
from config.errors import TgmonError
from config.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.telegram.clients import Client
    from storage.account_ends import AccountEnd


def utcnow() -> datetime:
    return datetime.now(UTC)


class Signal:
    """Wakes the task waiting for something to happen (e.g. the log changed). Level-
    triggered: a notify before anyone waits is not lost. One waiter per signal; another
    task that needs to hear of it too follows it with a signal of its own
    (:meth:`follow`)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._followers: list[Signal] = []

    def notify(self) -> None:
        self._event.set()
        for follower in self._followers:
            follower.notify()

    def follow(self, follower: Signal) -> Callable[[], None]:
        """Notify ``follower`` too whenever this signal is notified; returns the undo."""
        self._followers.append(follower)

        def undo() -> None:
            if follower in self._followers:
                self._followers.remove(follower)
        return undo

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


@dataclass
class WatchingAccount:
    """A watching account of the running app and its client."""

    name: str                    # main, second, ... (config.accounts)
    client: Client
    gone: bool = False           # Telegram ended it, or it was not logged in at start
    ended: AccountEnd | None = None      # the end Telegram gave, as recorded

    @property
    def running(self) -> bool:
        return not self.gone


class Accounts:
    """The watching accounts the app runs with, ``main`` first. When Telegram ends one
    while others are left, the app marks it (:meth:`lose`) and notifies ``changed``:
    the watcher then moves its channels to the others."""

    def __init__(self, accounts: list[WatchingAccount]) -> None:
        self.all = accounts
        self.changed = Signal()

    @classmethod
    def one(cls, client: Client, name: str = MAIN) -> Accounts:
        return cls([WatchingAccount(name, client)])

    def get(self, name: str) -> WatchingAccount | None:
        return next((a for a in self.all if a.name == name), None)

    def running(self) -> list[WatchingAccount]:
        return [a for a in self.all if a.running]

    def names(self) -> list[str]:
        """The names of the accounts still running."""
        return [a.name for a in self.running()]

    def client(self, name: str) -> Client | None:
        """The client of a running account (None: not running, or ended)."""
        found = self.get(name)
        return found.client if found is not None and found.running else None

    def lose(self, name: str, end: AccountEnd | None) -> None:
        """The app goes on without the account (``end``: what Telegram said, if it
        ended it; None: not logged in)."""
        found = self.get(name)
        if found is not None and found.running:
            found.gone, found.ended = True, end
            self.changed.notify()


@dataclass
class Runtime:
    """What the components of a running app share."""

    settings: Settings
    db: Database
    now: Callable[[], datetime]
    user: Client                 # the first watching account's client (main's, usually)
    bot: Client | None
    scheduler: AsyncIOScheduler
    log_changed: Signal          # the watcher notifies after storing; alerts wait on it
    # /alert and /unalert notify after changing the rules table; the alert dispatcher
    # re-reads the rules then
    rules_changed: Signal = field(default_factory=Signal)
    # whoever puts a message in the outbox notifies; the sender waits on it
    outbox_changed: Signal = field(default_factory=Signal)
    # the alert dispatcher notifies after recording alerts; the webhook sender waits on it
    webhooks_changed: Signal = field(default_factory=Signal)
    # every watching account (``user`` is the first); default: ``user`` alone, as main
    accounts: Accounts = field(default=None)   # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.accounts is None:
            self.accounts = Accounts.one(self.user)


class Component(Protocol):
    """A part of the running app (watcher, alert dispatcher, bot commands, ...).

    A component may also define ``attach(rt) -> None``: it is called before the
    clients connect, to register event handlers, because Telethon delivers the
    updates missed while tgmon was down right after connecting. ``start`` runs once
    the clients are connected; it starts background work and returns quickly.
    """

    name: str

    async def start(self, rt: Runtime) -> None: ...

    async def stop(self) -> None: ...


class NotAuthorizedError(TgmonError):
    """The watching account's session is not logged in."""


class StoppedWhileUnreachableError(TgmonError):
    """Stopped (SIGTERM) while waiting for Telegram to answer at start."""
