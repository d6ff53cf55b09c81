"""tgmon's Telegram clients: how they are built (:func:`telegram_client_factory`), and
the watching account's client, Telethon's plus a way to hear about reconnects.

After Telethon reconnects by itself it only calls ``get_me()`` and does not catch up
(its catch-up code after reconnecting is unreachable in 1.45), so pushes lost while the
link was down stay lost unless someone reads history. Its sender calls
``_handle_auto_reconnect`` after every automatic reconnect, against Telegram and in the
simulation alike; this subclass passes that on to listeners (the watcher), calmly when
the link keeps dropping.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from telethon import TelegramClient

from bot.failures import failure, log_traceback
from config.accounts import MAIN
from config.settings import Settings

log = logging.getLogger(__name__)

# What the rest of tgmon holds a client as (it calls only this package's functions on it).
Client: TypeAlias = TelegramClient

class ClientFactory(Protocol):
    """Builds an unconnected client: ``role`` is ``user`` (a watching account, named
    ``account``) or ``bot``; ``session`` the session file's path without ``.session``."""

    def __call__(self, role: str, session: Path, account: str = MAIN) -> Client: ...


ReconnectListener = Callable[[], Awaitable[None]]


def telegram_client_factory(settings: Settings) -> ClientFactory:
    """How tgmon builds its clients: a SQLite session file per role (owner-only), the
    user client catching up on what it missed while down, the bot one too. The user
    client is a :class:`WatchingClient` (it reports reconnects) and sleeps through no
    flood wait: the watcher sees each one, holds back only the work that needs that
    request and counts it. The bot fails fast on flood waits so its send queue can
    reschedule. Both talk to ``TGMON_SERVER`` if set (its key checked and registered
    here, before anything else happens)."""
    from bot.telegram.servers import check_server, client_options, point_at

    assert settings.api_id is not None and settings.api_hash
    api_id, api_hash = settings.api_id, settings.api_hash
    server = check_server(settings)

    def make(role: str, session: Path, account: str = MAIN) -> TelegramClient:
        _owner_only(session.with_name(session.name + ".session"))
        cls = WatchingClient if role == "user" else TelegramClient
        logger = "tgmon.telethon.bot" if role == "bot" else \
            "tgmon.telethon.user" if account == MAIN else f"tgmon.telethon.user.{account}"
        handled_by_tgmon(logger)
        client = cls(str(session), api_id, api_hash, catch_up=True,
                     flood_sleep_threshold=0 if role == "user" else 5,
                     base_logger=logger, **client_options(server))
        point_at(client, server)
        return client
    return make


async def connect_afresh(client: Any) -> None:
    """``client.connect()`` for a Telethon client that gave up on its connection.

    Telethon 1.45 reloads its update state from the session on connect
    (``MessageBox.load``) but keeps the set of entries it was getting a difference
    for. The secret (qts) entry can be among them (a difference with qts 0 adds it;
    a session with qts 0 does not bring it back), and then the next difference, if
    empty, fails in Telethon's update loop ("Called reset_deadline on an entry for
    which we do not have state") and the client stops for good. Forgetting the
    differences in progress is safe: the loop asks afresh from the reloaded state."""
    box = getattr(client, "_message_box", None)
    if box is not None:
        box.getting_diff_for.clear()
        box.possible_gaps.clear()
    await client.connect()


class _GivingUpIsAWarning(logging.Filter):
    """Telethon logs its sender's giving up ("Automatic reconnection failed N time(s)")
    at ERROR; tgmon handles exactly that (:func:`bot.reconnect.keep_trying`, with its
    own warning), so the line is a warning: ERROR stays for what nobody handles."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and \
                str(record.msg).startswith("Automatic reconnection failed"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def handled_by_tgmon(base_logger: str) -> None:
    """Install that on the sender's logger of a client made with ``base_logger``."""
    logger = logging.getLogger(f"{base_logger}.network.mtprotosender")
    if not any(isinstance(f, _GivingUpIsAWarning) for f in logger.filters):
        logger.addFilter(_GivingUpIsAWarning())


def _owner_only(path: Path) -> None:
    """Create the session file readable by its owner only before Telethon opens it."""
    from storage.dbfile import SESSION_PLACE, make_private_dir

    make_private_dir(path.parent, "the session files", SESSION_PLACE)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    path.chmod(0o600)


# A link that drops again and again (a proxy or firewall cutting every connection soon
# after it is made) reconnects many times a second. From STORM_RECONNECTS reconnects in
# STORM_WINDOW seconds on, listeners hear of them at most once every CALM_INTERVAL
# seconds (one catch-up, one log line), and one warning says why.
STORM_RECONNECTS = 5
STORM_WINDOW = 60.0
CALM_INTERVAL = 60.0


class WatchingClient(TelegramClient):
    """A ``TelegramClient`` that tells listeners when it has reconnected (by itself, or
    by tgmon after Telethon gave up: :meth:`reconnected`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_listeners: list[ReconnectListener] = []
        self._recent: deque[float] = deque()
        self._storming = False
        self._last_told = float("-inf")
        self._pending: asyncio.Task[None] | None = None

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        await self.reconnected()

    async def reconnected(self) -> None:
        """The client is connected again: tell the listeners (the watcher catches up),
        at most once a minute while the link keeps dropping."""
        now = asyncio.get_running_loop().time()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - STORM_WINDOW:
            self._recent.popleft()
        if len(self._recent) >= STORM_RECONNECTS:
            if not self._storming:
                self._storming = True
                log.warning("the connection to Telegram keeps dropping (%d reconnects in the "
                            "last %.0f s): a proxy or the network may be cutting it; catching "
                            "up at most once a minute until it holds", len(self._recent),
                            STORM_WINDOW)
            wait = self._last_told + CALM_INTERVAL - now
            if wait > 0:
                if self._pending is None or self._pending.done():
                    self._pending = asyncio.ensure_future(self._tell_later(wait))
                return
        elif self._storming and len(self._recent) <= 1:
            self._storming = False
            log.warning("the connection to Telegram holds again")
        await self._tell()

    async def _tell_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        if self.is_connected():
            await self._tell()

    async def _tell(self) -> None:
        self._last_told = asyncio.get_running_loop().time()
        for listener in list(self.reconnect_listeners):
            try:
                await listener()
            except Exception as e:
                log.error("a reconnect listener failed: %s", failure(e))
                log_traceback(log, e)

    async def _disconnect_coro(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        await super()._disconnect_coro()
