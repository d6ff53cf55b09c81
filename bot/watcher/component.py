"""The watcher: captures every post, edit and deletion of the watched channels.

* live: Telethon's events on the watching account (:mod:`.live`), stored as ``live``;
* catch-up: after start and after each reconnect, every channel is read forward from
  its cursor and its recent posts are re-checked (:mod:`.catchup`);
* reconcile and re-check jobs per channel, staggered, on the app's scheduler
  (:mod:`.jobs`, :mod:`.reconcile`, :mod:`.recheck`), stored as ``catch-up``;
* the watch list: usernames resolved once (:mod:`.resolver`), channels joined once so
  Telegram pushes their posts (:mod:`.membership`).

A flood wait holds back only the kind of request it was for, for as long as Telegram
says; a failing channel is reported once and retried with backoff while the others go
on. Nothing here logs post text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import timedelta
from html import escape
from typing import Any

from telethon import errors
from telethon.tl import functions

from bot.adapter import ChannelAccess, channel_access
from bot.app import Runtime
from bot.watcher.catchup import Sweeper
from bot.watcher.client import WatchingClient
from bot.watcher.health import (
    HISTORY,
    MESSAGES,
    ChannelHealth,
    FloodGate,
    backoff,
    describe_wait,
)
from bot.watcher.jobs import RECHECK, RECONCILE, ChannelJobs
from bot.watcher.live import LiveCapture
from bot.watcher.membership import JOIN_SPACING, Joiner
from bot.watcher.notify import notify_admins
from bot.watcher.recheck import recheck
from bot.watcher.reconcile import reconcile
from bot.watcher.resolver import RESOLVE_SPACING, Resolution, Resolver
from config.channels import load_channels
from config.errors import TgmonError
from config.settings import Settings
from storage.capture import Batch, add_event, all_states, init_state, save_batch, set_joined
from storage.channels import save_channel
from storage.models import CapturePath
from storage.watchlist import (
    WatchEntry,
    add_entry,
    find_entry,
    live_entries,
    previous_resolution,
    remove_entry,
    set_resolved,
    set_status,
    sync_config,
)

log = logging.getLogger(__name__)

FOUND_KEPT = 200            # /find results remembered for their buttons


def config_channels(settings: Settings) -> list[tuple[str, str | None]]:
    """The configured watch list: ``TGMON_WATCH`` if set, else the channels file."""
    if settings.watch is not None:
        return [(u, None) for u in settings.watch]
    return [(c.username, c.label) for c in load_channels(settings.channels_file)]


def _name(entry: WatchEntry) -> str:
    return f"@{entry.username}"


class Watcher:
    name = "watcher"

    def __init__(self, *, resolve_spacing: float = RESOLVE_SPACING,
                 join_spacing: float = JOIN_SPACING) -> None:
        self.resolve_spacing = resolve_spacing
        self.join_spacing = join_spacing
        self.rt: Runtime | None = None
        self.live: dict[int, WatchEntry] = {}           # channel id -> its watch entry
        self.health: dict[int, ChannelHealth] = {}
        self.gate = FloodGate()
        self.reconnects = 0                             # since start
        self.found: dict[int, ChannelAccess] = {}       # /find results, by channel id
        self._config: list[tuple[str, str | None]] = []
        self._ready = asyncio.Event()
        self._loading: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()      # our own background tasks
        self._running: set[asyncio.Task[Any]] = set()    # runs of jobs, wherever started
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._waiters: dict[int, list[asyncio.Future[Resolution]]] = {}
        self._resolving: set[int] = set()
        self._live_capture: LiveCapture | None = None
        self._jobs: ChannelJobs | None = None
        self._resolver: Resolver | None = None
        self._joiner: Joiner | None = None
        self._sweeper = Sweeper(lambda: list(self.live), self.run)

    # ---- lifecycle -------------------------------------------------------------

    def attach(self, rt: Runtime) -> None:
        """Before the clients connect: handlers first, so nothing Telethon delivers at
        connect is lost; the channels load meanwhile."""
        self.rt = rt
        self._config = config_channels(rt.settings)      # a bad file fails the start
        self._live_capture = LiveCapture(self.live.__contains__, self._store_live,
                                         self._ready)
        self._live_capture.attach(rt.user)
        if isinstance(rt.user, WatchingClient):
            rt.user.reconnect_listeners.append(self._on_reconnect)
        else:
            log.warning("the user client cannot report reconnects: missed posts are found "
                        "by the periodic reconcile only")
        self._loading = asyncio.ensure_future(self._load(rt))
        # start() re-raises a failure; if the app fails before start(), nobody would
        self._loading.add_done_callback(
            lambda f: f.cancelled() or f.exception())

    async def _load(self, rt: Runtime) -> None:
        try:
            await sync_config(rt.db, self._config, rt.now())
            for entry in await live_entries(rt.db):
                if entry.resolved and entry.channel_id is not None:
                    await init_state(rt.db, entry.channel_id)
                    self.live[entry.channel_id] = entry
                    self.health.setdefault(entry.channel_id, ChannelHealth())
        finally:
            self._ready.set()

    async def start(self, rt: Runtime) -> None:
        assert self._loading is not None
        await self._loading
        self._jobs = ChannelJobs(rt.scheduler, self.run, {
            RECONCILE: rt.settings.reconcile_interval, RECHECK: rt.settings.recheck_interval})
        self._resolver = Resolver(rt.user, self.gate, rt.now, spacing=self.resolve_spacing)
        self._joiner = Joiner(rt.user, self.gate, rt.now, self._joined, self._join_refused,
                              self._join_flood_wait, spacing=self.join_spacing)
        self._joiner.start()
        now = rt.now()
        entries = await live_entries(rt.db)
        states = await all_states(rt.db)
        watched = [e for e in entries if e.channel_id in self.live]
        for i, entry in enumerate(watched):
            assert entry.channel_id is not None
            self._jobs.add(entry.channel_id, now, i, len(watched))
            if states.get(entry.channel_id) is None or \
                    states[entry.channel_id].joined_at is None:
                self._joiner.join(entry)
        for entry in entries:
            if not entry.resolved and entry.status == "pending":
                self._queue_resolution(entry)
        self._sweeper.request("start")
        log.info("watching %d channels (%d waiting to be looked up)", len(watched),
                 sum(not e.resolved and e.status == "pending" for e in entries))

    async def stop(self) -> None:
        rt, self.rt = self.rt, None
        if self._live_capture is not None:
            self._live_capture.detach()
        if rt is not None and isinstance(rt.user, WatchingClient) and \
                self._on_reconnect in rt.user.reconnect_listeners:
            rt.user.reconnect_listeners.remove(self._on_reconnect)
        await self._sweeper.stop()
        if self._joiner is not None:
            await self._joiner.stop()
        tasks = (self._tasks | self._running) - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._jobs is not None:
            for cid in list(self.live):
                self._jobs.remove(cid)
        for waiters in self._waiters.values():
            for f in waiters:
                f.cancel()
        self._waiters.clear()
        self._ready.set()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- live ------------------------------------------------------------------

    async def _store_live(self, batch: Batch) -> None:
        rt = self.rt
        if rt is None:
            return
        result = await save_batch(rt.db, batch, CapturePath.LIVE, rt.now())
        if result.new or result.edited or result.deleted:
            rt.log_changed.notify()

    async def _on_reconnect(self) -> None:
        rt = self.rt
        if rt is None:
            return
        self.reconnects += 1
        log.info("the watching client reconnected: catching up")
        await add_event(rt.db, "reconnect", None, None, rt.now())
        self._sweeper.request("reconnect")

    # ---- per-channel work ------------------------------------------------------

    def _lock(self, channel_id: int, kind: str) -> asyncio.Lock:
        return self._locks.setdefault((channel_id, kind), asyncio.Lock())

    async def run(self, channel_id: int, kind: str) -> None:
        """One reconcile or re-check of a channel (a job, a sweep or a new channel's
        catch-up). Skipped if the same work is running; never raises."""
        rt, entry = self.rt, self.live.get(channel_id)
        if rt is None or entry is None:
            return
        lock = self._lock(channel_id, kind)
        if lock.locked():
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)            # a scheduler job too: stop() cancels it
        try:
            async with lock:
                await self._run_once(rt, entry, kind)
        except asyncio.CancelledError:
            if self.rt is not None:
                raise
            # stop() cancelled it: the run ends quietly (its batches are committed or not)
        finally:
            if task is not None:
                self._running.discard(task)

    async def _run_once(self, rt: Runtime, entry: WatchEntry, kind: str) -> None:
        assert entry.channel_id is not None and self._jobs is not None
        cid = entry.channel_id
        request = HISTORY if kind == RECONCILE else MESSAGES
        until = self.gate.closed_until(request, rt.now())
        if until is not None:
            self._jobs.postpone(cid, kind, until)
            return
        health = self.health.setdefault(cid, ChannelHealth())
        try:
            if kind == RECONCILE:
                result = await reconcile(rt.user, rt.db, entry, now=rt.now,
                                         initial_window=rt.settings.initial_window)
            else:
                result = await recheck(rt.user, rt.db, entry, now=rt.now,
                                       window=rt.settings.recheck_window)
        except errors.FloodWaitError as e:
            until = self.gate.close(request, e.seconds, rt.now())
            health.flood_waits += 1
            log.warning("%s of %s: Telegram asks to wait %s s (%s); other work goes on",
                        kind, _name(entry), e.seconds, request)
            await add_event(rt.db, "flood_wait", cid, f"{request} {e.seconds} s", rt.now())
            self._jobs.postpone(cid, kind, until)
            return
        except asyncio.CancelledError:
            raise
        except errors.ChannelPrivateError:
            await self._failed(rt, entry, kind, "ChannelPrivateError", "private",
                               f"{_name(entry)} is private now, or tgmon's account was "
                               "removed from it")
            return
        except errors.ChannelInvalidError:
            await self._failed(rt, entry, kind, "ChannelInvalidError", "gone",
                               f"Telegram no longer knows {_name(entry)} (deleted?)")
            return
        except Exception as e:
            await self._failed(rt, entry, kind, type(e).__name__, None, None)
            return
        if result.new or result.edited or result.deleted:
            rt.log_changed.notify()
            log.info("%s of %s: %d new, %d edited, %d deleted", kind, _name(entry),
                     result.new, result.edited, result.deleted)
        await self._succeeded(rt, entry, kind)

    async def _failed(self, rt: Runtime, entry: WatchEntry, kind: str, error: str,
                      status: str | None, detail: str | None) -> None:
        assert entry.channel_id is not None and self._jobs is not None
        cid = entry.channel_id
        health = self.health.setdefault(cid, ChannelHealth())
        first = not health.failing
        health.failures[kind] = health.failures.get(kind, 0) + 1
        health.last_error = error
        interval = self._jobs.intervals[kind]
        retry = backoff(health.failures[kind], interval)
        self._jobs.postpone(cid, kind, rt.now() + retry)
        if status is not None and status != entry.status:
            await set_status(rt.db, entry.id, status, detail, rt.now())
            entry = self.live[cid] = await self._refreshed(rt, entry)
        if not first:
            log.debug("%s of %s failed again (%s)", kind, _name(entry), error)
            return
        log.error("%s of %s failed: %s; retrying in %s, the other channels go on", kind,
                  _name(entry), error, describe_wait(retry.total_seconds()))
        await add_event(rt.db, "error", cid, f"{kind}: {error}", rt.now())
        why = escape(detail or f"{kind} failed ({error})")
        await notify_admins(rt, f"watch-failing:{cid}:{rt.now().isoformat()}",
                            f"⚠️ Capture of <b>{escape(_name(entry))}</b> is failing: {why}. "
                            "tgmon keeps retrying; the other channels are not affected.")

    async def _succeeded(self, rt: Runtime, entry: WatchEntry, kind: str) -> None:
        assert entry.channel_id is not None
        cid = entry.channel_id
        health = self.health.setdefault(cid, ChannelHealth())
        health.last_ok = rt.now()
        was_failing = health.failures.pop(kind, 0) > 0
        if health.failing:
            return                      # its other job still fails
        health.last_error = None
        if entry.status != "ok":        # also a state left by an earlier run
            await set_status(rt.db, entry.id, "ok", None, rt.now())
            self.live[cid] = await self._refreshed(rt, entry)
        elif not was_failing:
            return
        log.info("capture of %s works again", _name(entry))
        await add_event(rt.db, "recovered", cid, kind, rt.now())
        await notify_admins(rt, f"watch-recovered:{cid}:{rt.now().isoformat()}",
                            f"✅ Capture of <b>{escape(_name(entry))}</b> works again.")

    @staticmethod
    async def _refreshed(rt: Runtime, entry: WatchEntry) -> WatchEntry:
        return await find_entry(rt.db, str(entry.channel_id)) or entry

    # ---- the watch list --------------------------------------------------------

    def _queue_resolution(self, entry: WatchEntry) -> None:
        if entry.id in self._resolving:
            return
        self._resolving.add(entry.id)
        self._spawn(self._resolve(entry), f"watcher resolve {entry.username}")

    async def _resolve(self, entry: WatchEntry) -> None:
        rt = self.rt
        assert rt is not None and self._resolver is not None
        try:
            outcome = await self._resolution(rt, entry)
        finally:
            self._resolving.discard(entry.id)
        for waiter in self._waiters.pop(entry.id, []):
            if not waiter.done():
                waiter.set_result(outcome)

    async def _resolution(self, rt: Runtime, entry: WatchEntry) -> Resolution:
        assert self._resolver is not None
        reused = await previous_resolution(rt.db, entry.username)
        if reused is not None:
            cid, access_hash = reused
            await set_resolved(rt.db, entry.id, cid, access_hash, rt.now())
            resolved = await self._refreshed_by_id(rt, entry)
            await self._activate(rt, resolved, join=True)
            return Resolution("ok")
        failures = 0
        while True:
            try:
                outcome = await self._resolver.resolve(entry.username)
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                failures += 1
                wait = backoff(failures, timedelta(minutes=1))
                log.error("resolving %s failed: %s; retrying in %s", _name(entry),
                          type(e).__name__, describe_wait(wait.total_seconds()))
                await asyncio.sleep(wait.total_seconds())
        if outcome.status != "ok" or outcome.access is None:
            await self._unwatchable(rt, entry, outcome.status, outcome.detail or "")
            return outcome
        access = outcome.access
        cid = access.channel.channel_id
        other = self.live.get(cid)
        if other is not None and other.id != entry.id:
            detail = f"the same channel as {_name(other)}, which is watched already"
            await self._unwatchable(rt, entry, "unresolved", detail)
            return Resolution("unresolved", access, detail)
        now = rt.now()
        await save_channel(rt.db, access.channel, now)
        await set_resolved(rt.db, entry.id, cid, access.access_hash, now)
        if access.member:
            await set_joined(rt.db, cid, now)
        resolved = await self._refreshed_by_id(rt, entry)
        log.info("%s is channel %s", _name(resolved), cid)
        await self._activate(rt, resolved, join=not access.member)
        return outcome

    @staticmethod
    async def _refreshed_by_id(rt: Runtime, entry: WatchEntry) -> WatchEntry:
        found = next((e for e in await live_entries(rt.db) if e.id == entry.id), None)
        return found or entry

    async def _unwatchable(self, rt: Runtime, entry: WatchEntry, status: str,
                           detail: str) -> None:
        await set_status(rt.db, entry.id, status, detail, rt.now())
        log.warning("cannot watch %s: %s (%s)", _name(entry), status, detail)
        if self._waiters.get(entry.id):
            return                      # an admin's /watch is waiting: it answers them
        await notify_admins(rt, f"watch-{status}:{entry.id}",
                            f"⚠️ tgmon cannot watch <b>{escape(_name(entry))}</b>: "
                            f"{escape(detail)}. The other channels are not affected; fix the "
                            "name in the channels file or with /unwatch and /watch.")

    async def _activate(self, rt: Runtime, entry: WatchEntry, *, join: bool) -> None:
        """Take a resolved channel on: live set, jobs, its catch-up now, and a join."""
        assert entry.channel_id is not None and self._jobs is not None
        cid = entry.channel_id
        await init_state(rt.db, cid)
        self.live[cid] = entry
        self.health.setdefault(cid, ChannelHealth())
        self._jobs.add(cid, rt.now(), len(self.live) - 1, len(self.live))
        if join and self._joiner is not None:
            self._joiner.join(entry)
        self._spawn(self._catch_up(cid), f"watcher catch-up {cid}")

    async def _catch_up(self, channel_id: int) -> None:
        await self.run(channel_id, RECONCILE)
        await self.run(channel_id, RECHECK)

    async def _joined(self, entry: WatchEntry) -> None:
        rt = self.rt
        if rt is None or entry.channel_id is None:
            return
        await set_joined(rt.db, entry.channel_id, rt.now())
        await add_event(rt.db, "joined", entry.channel_id, None, rt.now())
        log.info("joined %s: Telegram pushes its posts now", _name(entry))

    async def _join_refused(self, entry: WatchEntry, why: str) -> None:
        rt = self.rt
        if rt is None:
            return
        log.warning("cannot join %s: %s; it is polled instead", _name(entry), why)
        await notify_admins(rt, f"watch-join:{entry.channel_id}",
                            f"⚠️ tgmon cannot join <b>{escape(_name(entry))}</b>: "
                            f"{escape(why)}. Its posts are still read every "
                            f"{escape(_minutes(rt.settings.reconcile_interval))}, not pushed.")

    async def _join_flood_wait(self, entry: WatchEntry, seconds: float) -> None:
        rt = self.rt
        if rt is None:
            return
        log.warning("joining channels: Telegram asks to wait %s s", seconds)
        await add_event(rt.db, "flood_wait", entry.channel_id,
                        f"{functions.channels.JoinChannelRequest.__name__} {seconds} s",
                        rt.now())

    # ---- for the admins' commands ----------------------------------------------

    async def watch(self, username: str, added_by: int,
                    timeout: float = 30.0) -> tuple[WatchEntry, Resolution | None]:
        """Add a username and resolve it; None if the resolution is still queued after
        ``timeout`` seconds (it goes on; admins hear if it fails)."""
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        entry = await add_entry(rt.db, username, None, added_by, rt.now())
        if entry.resolved and entry.channel_id in self.live:
            return entry, Resolution("ok")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Resolution] = loop.create_future()
        self._waiters.setdefault(entry.id, []).append(waiter)
        self._queue_resolution(entry)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return entry, None
        if outcome.status != "ok":
            await remove_entry(rt.db, entry.id, rt.now())     # a typo is not kept
        return await self._refreshed_by_id(rt, entry), outcome

    async def watch_found(self, channel_id: int, added_by: int) -> WatchEntry | None:
        """Watch a channel /find found (its access hash is known: no resolution). None
        if it is not among the remembered results."""
        rt = self.rt
        access = self.found.get(channel_id)
        if rt is None or access is None or not access.channel.username:
            return None
        existing = self.live.get(channel_id)
        if existing is not None:
            return existing
        now = rt.now()
        entry = await add_entry(rt.db, access.channel.username, None, added_by, now)
        await save_channel(rt.db, access.channel, now)
        await set_resolved(rt.db, entry.id, channel_id, access.access_hash, now)
        if access.member:
            await set_joined(rt.db, channel_id, now)
        entry = await self._refreshed_by_id(rt, entry)
        await self._activate(rt, entry, join=not access.member)
        return entry

    async def unwatch(self, entry: WatchEntry) -> None:
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        await remove_entry(rt.db, entry.id, rt.now())
        if entry.channel_id is not None and entry.channel_id in self.live:
            del self.live[entry.channel_id]
            if self._jobs is not None:
                self._jobs.remove(entry.channel_id)

    async def search(self, query: str, limit: int = 10) -> list[ChannelAccess]:
        """Public channels whose name or username matches (``contacts.search``)."""
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        try:
            found = await rt.user(functions.contacts.SearchRequest(q=query, limit=limit))
        except errors.FloodWaitError as e:
            raise TgmonError(f"Telegram asks to wait {describe_wait(e.seconds)} before "
                             "searching again.") from None
        except errors.QueryTooShortError:
            raise TgmonError("Give at least three letters to search for.") from None
        out = []
        for chat in found.chats:
            access = channel_access(chat)
            if access is not None and access.broadcast and access.channel.username:
                out.append(access)
                self.found[access.channel.channel_id] = access
        while len(self.found) > FOUND_KEPT:
            del self.found[next(iter(self.found))]
        return out


def _minutes(interval: timedelta) -> str:
    minutes = max(1, round(interval.total_seconds() / 60))
    return f"{minutes} min"
