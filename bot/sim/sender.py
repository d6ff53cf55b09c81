"""The seam: a stand-in for Telethon's ``MTProtoSender`` (``client._sender``) that talks
to a :class:`bot.sim.world.World` instead of Telegram's data centres.

Everything above it is the real client: ``_call`` (flood-wait sleeps and raises, entity
caching), the update loop and ``MessageBox`` (gaps, getDifference), event builders,
HTML parsing, uploads. Requests and answers cross as TL bytes. A dropped link behaves
like the real sender's: pushes meanwhile are lost, requests wait in a queue and are
answered after the reconnection, and then the client's auto-reconnect callback runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from telethon.crypto import AuthKey
from telethon.network.mtprotosender import MTProtoSender
from telethon.utils import is_list_like

from bot.sim.files import for_viewer
from bot.sim.tl import RpcFail, as_exception, decode_result, result_bytes, roundtrip

if TYPE_CHECKING:
    from telethon import TelegramClient

    from bot.sim.model import Account
    from bot.sim.world import World

log = logging.getLogger(__name__)

# Credentials of simulated clients: never valid against Telegram.
SIM_API_ID = 1
SIM_API_HASH = "5170000000000000000000000000000a"


class SimSender:
    """Duck-types the parts of ``MTProtoSender`` that ``TelegramClient`` uses."""

    # The real method: puts the client's own results (UpdateShortSentMessage, Updates)
    # into the update queue flagged as outgoing, exactly as in production.
    _store_own_updates = MTProtoSender._store_own_updates

    def __init__(self, world: World, account: Account, role: str,
                 updates_queue: asyncio.Queue[Any], auth_key: AuthKey | None,
                 on_reconnect: Any = None, *, retries: int = 5, delay: float = 1.0,
                 logger: logging.Logger = log) -> None:
        self.world = world
        self.account = account
        self.role = role
        self._updates_queue = updates_queue
        self.auth_key = auth_key if auth_key is not None and auth_key.key else \
            AuthKey(os.urandom(256))
        self._auto_reconnect_callback = on_reconnect
        self._user_connected = False
        self._link_up = False
        self._connection: Any = None
        self._disconnected_future: asyncio.Future[None] | None = None
        self._waiting: list[tuple[Any, bytes, asyncio.Future[Any]]] = []
        self._relink_handle: asyncio.TimerHandle | None = None
        # Telethon's connection policy (connection_retries, retry_delay) and the logger
        # its sender writes to, so that an unreachable Telegram looks as it does there.
        self.retries = retries
        self.delay = delay
        self._log = logger
        self._reconnecting: asyncio.Task[None] | None = None

    # ---- the MTProtoSender interface ----

    async def connect(self, connection: Any) -> bool:
        if self._user_connected:
            return False
        if not await self._attempts():
            raise ConnectionError(f"Connection to Telegram failed {self.retries} time(s)")
        self._connection = connection          # constructed by the client, never opened
        self._user_connected = self._link_up = True
        self._disconnected_future = asyncio.get_running_loop().create_future()
        self.world.senders.append(self)
        self.world.session_opened(self)
        return True

    def is_connected(self) -> bool:
        return self._user_connected

    def _transport_connected(self) -> bool:
        return self._user_connected and self._link_up

    async def disconnect(self) -> None:
        if not self._user_connected:
            return
        self._user_connected = self._link_up = False
        if self._relink_handle is not None:
            self._relink_handle.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            self._reconnecting = None
        for _, _, future in self._waiting:
            future.cancel()
        self._waiting.clear()
        if self in self.world.senders:
            self.world.senders.remove(self)
        if self._disconnected_future is not None and not self._disconnected_future.done():
            self._disconnected_future.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        if self._disconnected_future is None:
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return asyncio.shield(done)
        return asyncio.shield(self._disconnected_future)

    def _keepalive_ping(self, rnd_id: int) -> None:
        """Pings need no answer here; the link's state is the world's to decide."""

    def send(self, request: Any, ordered: bool = False) -> Any:
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")
        if is_list_like(request):
            return [self._send_one(r) for r in request]
        return self._send_one(request)

    # ---- the simulation's side ----

    def receiving(self) -> bool:
        return self._transport_connected()

    def push(self, updates: Any) -> None:
        """Server -> client, as ``MTProtoSender._handle_update`` does after decoding."""
        self._updates_queue.put_nowait(
            for_viewer(roundtrip(updates), self.world.files, self.account.id))

    def drop_link(self, seconds: float) -> None:
        """The connection breaks; it comes back after ``seconds``."""
        if not self._transport_connected():
            return
        self._link_up = False
        loop = asyncio.get_running_loop()
        self._relink_handle = loop.call_later(seconds, self._relink)

    def lose_network(self) -> None:
        """Telegram became unreachable: the link drops, and Telethon's sender tries to
        reconnect as it does, giving up after its retries."""
        if not self._transport_connected():
            return
        self._link_up = False
        if self._relink_handle is not None:
            self._relink_handle.cancel()
            self._relink_handle = None
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _attempts(self) -> bool:
        """``MTProtoSender._connect``'s attempts: ``retries + 1`` of them, ``delay``
        apart, each failure logged as Telethon logs it."""
        for attempt in range(1, self.retries + 2):
            ok = self.world.reachable(self.account)
            self.world.connection_attempts.append((self.role, ok))
            if ok:
                return True
            self._log.warning("Attempt %d at connecting failed: %s: %s", attempt,
                              "ConnectionError", "Telegram is unreachable (simulated)")
            await asyncio.sleep(self.delay)
        return False

    async def _reconnect(self) -> None:
        """``MTProtoSender._reconnect``: ``retries`` reconnections, then give up."""
        try:
            for attempt in range(1, self.retries + 1):
                if not self._user_connected:
                    return
                if await self._attempts():
                    self._reconnecting = None
                    self._relink()
                    return
                self._log.info("Failed reconnection attempt %d with %s", attempt,
                               "ConnectionError")
                await asyncio.sleep(self.delay)
            self._log.error("Automatic reconnection failed %d time(s)", self.retries)
            self._reconnecting = None
            self._give_up(ConnectionError(
                f"Connection to Telegram failed {self.retries} time(s)"))
        except asyncio.CancelledError:
            pass

    def _give_up(self, error: BaseException) -> None:
        """The sender stops, as Telethon's does after failed reconnections: requests
        waiting fail, and ``disconnected`` ends with ``error``."""
        self._user_connected = self._link_up = False
        waiting, self._waiting = self._waiting, []
        for _, _, future in waiting:
            if not future.done():
                future.set_exception(ConnectionError("Cannot send requests while "
                                                     "disconnected"))
        if self in self.world.senders:
            self.world.senders.remove(self)
        if self._disconnected_future is not None and not self._disconnected_future.done():
            self._disconnected_future.set_exception(error)

    def _relink(self) -> None:
        self._relink_handle = None
        if not self._user_connected:
            return
        self._link_up = True
        waiting, self._waiting = self._waiting, []
        for request, wire, future in waiting:
            if not future.done():
                self._answer(request, wire, future)
        if self._auto_reconnect_callback is not None:
            asyncio.get_running_loop().create_task(self._auto_reconnect_callback())

    def _send_one(self, request: Any) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        wire = bytes(request)                  # malformed requests fail here, as they would
        if self._link_up:
            self._answer(request, wire, future)
        else:
            self._waiting.append((request, wire, future))
        return future

    def _answer(self, request: Any, wire: bytes, future: asyncio.Future[Any]) -> None:
        from telethon.extensions import BinaryReader

        try:
            result = self.world.handle(self, BinaryReader(wire).tgread_object())
            parsed = for_viewer(decode_result(request, result_bytes(result)),
                                self.world.files, self.account.id)
        except RpcFail as e:
            self._reply(future, as_exception(e, request), None)
            return
        except Exception as e:
            # A request the simulation cannot answer, or an answer that is not valid TL:
            # fail loudly, and remember it so a run cannot end green.
            self.world.failures.append(f"{type(request).__name__}: {e}")
            log.error("simulated Telegram failed on %s: %s", type(request).__name__, e)
            self._reply(future, e, None)
            return
        self._reply(future, None, parsed)

    def _reply(self, future: asyncio.Future[Any], error: BaseException | None,
               result: Any) -> None:
        """The answer arrives after the world's round-trip latency (0: on the next turn
        of the loop); like the real receive loop, own updates are queued first."""
        def arrive() -> None:
            if result is not None:
                self._store_own_updates(result)
            _settle(future, error, result)
        loop = asyncio.get_running_loop()
        if self.world.latency > 0:
            loop.call_later(self.world.latency, arrive)
        else:
            loop.call_soon(arrive)


def _settle(future: asyncio.Future[Any], error: BaseException | None, result: Any) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def attach(world: World, client: TelegramClient, role: str,
           account: str = "main") -> TelegramClient:
    """Swap ``client``'s network layer for ``world`` (before ``connect()``); ``account``
    names the watching account a ``user`` client logs in as."""
    if client.is_connected():
        raise RuntimeError("attach the simulation before connecting the client")
    client._sender = SimSender(world, world.account(role, account), role,
                               client._updates_queue, client.session.auth_key,
                               client._handle_auto_reconnect,
                               retries=client._connection_retries,
                               delay=client._retry_delay,
                               logger=client._log["telethon.network.mtprotosender"])
    _no_fsync(client.session)
    return client


def _no_fsync(session: Any) -> None:
    """A simulated session file is disposable: do not fsync it. Telethon saves sessions
    every minute; on a virtual day that is thousands of commits, and waiting for the disk
    on each would dominate the run."""
    if hasattr(session, "_cursor"):             # SQLiteSession (not MemorySession)
        cursor = session._cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()
