"""The watch list at run time: usernames looked up once (through the resolver's queue),
channels taken on (live set, jobs, catch-up, join), and what the admins' commands ask:
/watch, /unwatch, /find. The watcher (:mod:`.component`) makes one when it starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from html import escape
from typing import Any

from bot.failures import failure, log_traceback
from bot.runtime import Runtime
from bot.telegram.errors import wait_seconds
from bot.telegram.records import ChannelAccess
from bot.telegram.requests import JOIN_REQUEST, Resolution, search_channels
from bot.watcher.health import backoff, describe_wait
from bot.watcher.jobs import RECHECK, RECONCILE, ChannelJobs
from bot.watcher.membership import Joiner
from bot.watcher.notify import name_of, notify_admins
from bot.watcher.resolver import Resolver
from bot.watcher.state import WatchState
from config.errors import TgmonError
from storage.capture import add_event, init_state, set_joined
from storage.channels import save_channel
from storage.watchlist import (
    WatchEntry,
    add_entry,
    live_entries,
    previous_resolution,
    remove_entry,
    set_resolved,
    set_status,
)

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]
Run = Callable[[int, str], Awaitable[None]]


class WatchList:
    """Takes channels on and off the running watch list (``state``): resolution
    through ``resolver``, jobs in ``jobs``, joins through its :class:`Joiner`, and each
    new channel's catch-up (``run``) in a task of the watcher's (``spawn``)."""

    def __init__(self, rt: Runtime, state: WatchState, jobs: ChannelJobs, resolver: Resolver,
                 run: Run, spawn: Spawn, *, join_spacing: float) -> None:
        self.rt: Runtime | None = rt
        self.state = state
        self.live = state.live
        self._jobs = jobs
        self._resolver = resolver
        self.run = run
        self._spawn = spawn
        self._joiner = Joiner(rt.user, state.gate, rt.now, self._joined, self._join_refused,
                              self._join_flood_wait, spacing=join_spacing)
        self._waiters: dict[int, list[asyncio.Future[Resolution]]] = {}
        self._resolving: set[int] = set()

    def start(self) -> None:
        self._joiner.start()

    async def stop(self) -> None:
        self.rt = None
        await self._joiner.stop()

    def cancel_waiters(self) -> None:
        for waiters in self._waiters.values():
            for f in waiters:
                f.cancel()
        self._waiters.clear()

    def join(self, entry: WatchEntry) -> None:
        self._joiner.join(entry)

    def queue_resolution(self, entry: WatchEntry) -> None:
        if entry.id in self._resolving:
            return
        self._resolving.add(entry.id)
        self._spawn(self._resolve(entry), f"watcher resolve {entry.username}")

    async def _resolve(self, entry: WatchEntry) -> None:
        rt = self.rt
        assert rt is not None
        try:
            outcome = await self._resolution(rt, entry)
        finally:
            self._resolving.discard(entry.id)
        for waiter in self._waiters.pop(entry.id, []):
            if not waiter.done():
                waiter.set_result(outcome)

    async def _resolution(self, rt: Runtime, entry: WatchEntry) -> Resolution:
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
                log.error("resolving %s failed: %s; retrying in %s", name_of(entry),
                          failure(e), describe_wait(wait.total_seconds()))
                log_traceback(log, e)
                await asyncio.sleep(wait.total_seconds())
        if outcome.status != "ok" or outcome.access is None:
            await self._unwatchable(rt, entry, outcome.status, outcome.detail or "")
            return outcome
        access = outcome.access
        cid = access.channel.channel_id
        other = self.live.get(cid)
        if other is not None and other.id != entry.id:
            detail = f"the same channel as {name_of(other)}, which is watched already"
            await self._unwatchable(rt, entry, "unresolved", detail)
            return Resolution("unresolved", access, detail)
        now = rt.now()
        await save_channel(rt.db, access.channel, now)
        await set_resolved(rt.db, entry.id, cid, access.access_hash, now)
        if access.member:
            await set_joined(rt.db, cid, now)
        resolved = await self._refreshed_by_id(rt, entry)
        log.info("%s is channel %s", name_of(resolved), cid)
        await self._activate(rt, resolved, join=not access.member)
        return outcome

    @staticmethod
    async def _refreshed_by_id(rt: Runtime, entry: WatchEntry) -> WatchEntry:
        found = next((e for e in await live_entries(rt.db) if e.id == entry.id), None)
        return found or entry

    async def _unwatchable(self, rt: Runtime, entry: WatchEntry, status: str,
                           detail: str) -> None:
        await set_status(rt.db, entry.id, status, detail, rt.now())
        log.warning("cannot watch %s: %s (%s)", name_of(entry), status, detail)
        if self._waiters.get(entry.id):
            return                      # an admin's /watch is waiting: it answers them
        await notify_admins(rt, f"watch-{status}:{entry.id}",
                            f"⚠️ tgmon cannot watch <b>{escape(name_of(entry))}</b>: "
                            f"{escape(detail)}. The other channels are not affected; fix the "
                            "name in the channels file or with /unwatch and /watch.")

    async def _activate(self, rt: Runtime, entry: WatchEntry, *, join: bool) -> None:
        """Take a resolved channel on: live set, jobs, its catch-up now, and a join."""
        assert entry.channel_id is not None
        cid = entry.channel_id
        await init_state(rt.db, cid)
        self.state.take_on(entry)
        self._jobs.add(cid, rt.now(), len(self.live) - 1, len(self.live))
        if join:
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
        log.info("joined %s: Telegram pushes its posts now", name_of(entry))

    async def _join_refused(self, entry: WatchEntry, why: str) -> None:
        rt = self.rt
        if rt is None:
            return
        log.warning("cannot join %s: %s; it is polled instead", name_of(entry), why)
        await notify_admins(rt, f"watch-join:{entry.channel_id}",
                            f"⚠️ tgmon cannot join <b>{escape(name_of(entry))}</b>: "
                            f"{escape(why)}. Its posts are still read every "
                            f"{escape(_minutes(rt.settings.reconcile_interval))}, not pushed.")

    async def _join_flood_wait(self, entry: WatchEntry, seconds: float) -> None:
        rt = self.rt
        if rt is None:
            return
        log.warning("joining channels: Telegram asks to wait %s s", seconds)
        await add_event(rt.db, "flood_wait", entry.channel_id, f"{JOIN_REQUEST} {seconds} s",
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
        self.queue_resolution(entry)
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
        access = self.state.found.get(channel_id)
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
            self._jobs.remove(entry.channel_id)

    async def search(self, query: str, limit: int = 10) -> list[ChannelAccess]:
        """Public channels whose name or username matches (``contacts.search``)."""
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        try:
            out = await search_channels(rt.user, query, limit)
        except Exception as e:
            seconds = wait_seconds(e)
            if seconds is None:
                raise
            raise TgmonError(f"Telegram asks to wait {describe_wait(seconds)} before "
                             "searching again.") from None
        self.state.remember(out)
        return out


def _minutes(interval: timedelta) -> str:
    minutes = max(1, round(interval.total_seconds() / 60))
    return f"{minutes} min"
