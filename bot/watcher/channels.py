"""The watch list at run time: each channel placed on a watching account
(:mod:`.spread`), looked up once by that account (its resolver's queue), taken on (live
set, jobs, catch-up, a join by that account), moved when its account is lost, and what
the admins' commands ask: /watch, /unwatch, /find. The watcher (:mod:`.component`)
makes one when it starts."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import timedelta
from html import escape
from typing import Any

from bot.failures import failure, log_traceback
from bot.runtime import Runtime
from bot.telegram.errors import wait_seconds
from bot.telegram.records import ChannelAccess
from bot.telegram.requests import JOIN_REQUEST, Refusal, Resolution, search_channels
from bot.watcher.accounts import AccountWork
from bot.watcher.health import RESOLVE, backoff, describe_wait
from bot.watcher.jobs import RECHECK, RECONCILE, ChannelJobs
from bot.watcher.notify import name_of, notify_admins
from bot.watcher.spread import (
    JOINED,
    POLLED,
    Moved,
    loads,
    moved_notice,
    place,
    place_all,
    promotions,
)
from bot.watcher.state import WatchState
from config.errors import TgmonError
from storage.account_ends import AccountEnd, mark_notified
from storage.accounts import Move, apply_moves
from storage.capture import add_event, init_state, set_joined
from storage.channels import save_channel
from storage.watchlist import (
    WatchEntry,
    add_entry,
    entry_by_id,
    held_counts,
    live_entries,
    previous_resolution,
    remove_entry,
    save_access,
    set_holder,
    set_resolved,
    set_status,
)

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]
Run = Callable[[int, str], Awaitable[None]]
NOT_LOGGED_IN = "NOT_LOGGED_IN"         # why a channel moved, when no end was recorded
ROOM = "ROOM"           # why a polled channel moved: an account had room to join it


class WatchList:
    """Takes channels on and off the running watch list (``state``): placement on an
    account, that account's look-up (``works``: each running account's resolver and
    joiner), jobs in ``jobs``, and each channel's catch-up (``run``) in a task of the
    watcher's (``spawn``)."""

    def __init__(self, rt: Runtime, state: WatchState, jobs: ChannelJobs,
                 works: Mapping[str, AccountWork], run: Run, spawn: Spawn) -> None:
        self.rt: Runtime | None = rt
        self.state = state
        self.live = state.live
        self._jobs = jobs
        self._works = works
        self.run = run
        self._spawn = spawn
        self._waiters: dict[int, list[asyncio.Future[Resolution]]] = {}
        self._resolving: set[int] = set()
        self._told: set[str] = set()        # lost accounts the admins heard of
        self._placing = asyncio.Lock()

    async def stop(self) -> None:
        self.rt = None

    def cancel_waiters(self) -> None:
        for waiters in self._waiters.values():
            for f in waiters:
                f.cancel()
        self._waiters.clear()

    def running(self) -> list[str]:
        """The accounts that hold channels now: running, and their work started."""
        rt = self.rt
        if rt is None:
            return []
        return [n for n in rt.accounts.names() if n in self._works and self._works[n].started]

    def join(self, entry: WatchEntry) -> None:
        work = self._works.get(entry.account or "")
        if work is not None and work.joiner is not None and entry.mode == JOINED:
            work.joiner.join(entry)

    # ---- placing and looking up --------------------------------------------------

    async def _placed(self, rt: Runtime, entry: WatchEntry) -> WatchEntry | None:
        """The entry as stored now, on a running account (placed on the one with the
        most room if it has none, or its account is not running); None if it is no
        longer watched or no account runs."""
        found = await _refreshed_by_id(rt, entry)
        if found is None:
            return None
        entry, running = found, self.running()
        if entry.account in running and entry.mode is not None:
            return entry
        if not running:
            return None
        async with self._placing:     # one placement at a time: each counts for the next
            held = await held_counts(rt.db)
            current = loads(running, held, rt.settings.join_limit, self.state.full)
            if entry.account in running:        # held (looked up by backfill): how?
                load = next(c for c in current if c.account == entry.account)
                account, mode = load.account, JOINED if load.room else POLLED
            else:
                account, mode = place(current)
            await set_holder(rt.db, entry.id, account, mode)
        log.info("%s goes to the watching account %s (%s)", name_of(entry), account, mode)
        return await _refreshed_by_id(rt, entry)

    def queue_resolution(self, entry: WatchEntry) -> None:
        """Take the entry on: placed on an account, looked up by it if it has no access
        hash of the channel, then activated."""
        if entry.id in self._resolving:
            return
        self._resolving.add(entry.id)
        self._spawn(self._resolve(entry), f"watcher resolve {entry.username}")

    async def _resolve(self, entry: WatchEntry) -> None:
        rt = self.rt
        outcome: Resolution | None = None
        try:
            if rt is not None:
                outcome = await self._resolution(rt, entry)
        finally:
            self._resolving.discard(entry.id)
        for waiter in self._waiters.pop(entry.id, []):
            if not waiter.done():
                if outcome is None:
                    waiter.cancel()
                else:
                    waiter.set_result(outcome)

    async def _resolution(self, rt: Runtime, entry: WatchEntry) -> Resolution | None:
        failures = 0
        while True:
            placed = await self._placed(rt, entry)
            if placed is None or self.rt is None:
                return None
            entry = placed
            account = entry.account
            assert account is not None
            if entry.resolved:                  # the account can name it: no look-up
                await self._activate(rt, entry, join=True)
                return Resolution("ok")
            reused = await previous_resolution(rt.db, entry.lookup_name, account)
            if reused is not None and entry.channel_id in (None, reused[0]):
                cid, access_hash = reused
                await set_resolved(rt.db, entry.id, cid, access_hash, rt.now(), account)
                continue                        # resolved now: activated above
            work = self._works[account]
            assert work.resolver is not None
            try:
                outcome = await work.resolver.resolve(entry.lookup_name)
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if account not in self.running():
                    continue                    # its account was lost: placed anew
                failures += 1
                wait = backoff(failures, timedelta(minutes=1))
                log.error("resolving %s failed: %s; retrying in %s", name_of(entry),
                          failure(e), describe_wait(wait.total_seconds()))
                log_traceback(log, e)
                await asyncio.sleep(wait.total_seconds())
        return await self._resolved(rt, entry, account, outcome)

    async def _resolved(self, rt: Runtime, entry: WatchEntry, account: str,
                        outcome: Resolution) -> Resolution:
        if outcome.status != "ok" or outcome.access is None:
            await self._unwatchable(rt, entry, outcome.status, outcome.detail or "")
            return outcome
        access = outcome.access
        cid = access.channel.channel_id
        other = self.live.get(cid)
        if entry.channel_id is not None and entry.channel_id != cid:
            detail = (f"@{entry.lookup_name} names another channel now; the channel tgmon "
                      "watched cannot be looked up by that name any more")
            await self._unwatchable(rt, entry, "unresolved", detail)
            return Resolution("unresolved", access, detail)
        if other is not None and other.id != entry.id:
            detail = f"the same channel as {name_of(other)}, which is watched already"
            await self._unwatchable(rt, entry, "unresolved", detail)
            return Resolution("unresolved", access, detail)
        now = rt.now()
        await save_channel(rt.db, access.channel, now)
        if entry.channel_id is None:
            await set_resolved(rt.db, entry.id, cid, access.access_hash, now, account)
            log.info("%s is channel %s", name_of(entry), cid)
        else:
            await save_access(rt.db, account, cid, access.access_hash, now)
            log.info("%s looked up again by the watching account %s", name_of(entry),
                     account)
        if access.member:
            await set_joined(rt.db, cid, now)
        resolved = await _refreshed_by_id(rt, entry)
        if resolved is not None:
            await self._activate(rt, resolved, join=not access.member)
        return outcome

    async def _unwatchable(self, rt: Runtime, entry: WatchEntry, status: str,
                           detail: str) -> None:
        await set_status(rt.db, entry.id, status, detail, rt.now())
        if entry.channel_id is not None and self.live.get(entry.channel_id, entry).id == \
                entry.id and entry.channel_id in self.live:
            del self.live[entry.channel_id]
            self._jobs.remove(entry.channel_id)
        log.warning("cannot watch %s: %s (%s)", name_of(entry), status, detail)
        if self._waiters.get(entry.id):
            return                      # an admin's /watch is waiting: it answers them
        await notify_admins(rt, f"watch-{status}:{entry.id}",
                            f"⚠️ tgmon cannot watch <b>{escape(name_of(entry))}</b>: "
                            f"{escape(detail)}. The other channels are not affected; fix the "
                            "name in the channels file or with /unwatch and /watch.")

    async def _activate(self, rt: Runtime, entry: WatchEntry, *, join: bool) -> None:
        """Take a channel on with the account that holds it: live set, jobs, its
        catch-up from its cursor now, and a join."""
        assert entry.channel_id is not None
        cid = entry.channel_id
        await init_state(rt.db, cid)
        self.state.take_on(entry)
        self._jobs.add(cid, rt.now(), len(self.live) - 1, len(self.live))
        if join:
            self.join(entry)
        self._spawn(self._catch_up(cid), f"watcher catch-up {cid}")

    async def _catch_up(self, channel_id: int) -> None:
        await self.run(channel_id, RECONCILE)
        await self.run(channel_id, RECHECK)

    # ---- an account lost ---------------------------------------------------------

    async def rehome(self) -> None:
        """Move the channels of accounts that no longer run (Telegram ended them, or
        they are not logged in) to the running ones, placed as new channels are, and
        tell the admins once per lost account what moved. Each moved channel is read
        on from its own cursor by its new account, after that account has looked it
        up (its access hash is its own)."""
        rt = self.rt
        running = self.running()
        if rt is None or not running:
            return
        async with self._placing:       # one placement at a time: each counts for the next
            entries = await live_entries(rt.db)
            stranded = sorted((e for e in entries if e.account is not None
                               and e.account not in running),
                              key=lambda e: (e.mode == POLLED, e.id))
            lost = {a.name: a.ended for a in rt.accounts.all if not a.running}
            lost.update({e.account: lost.get(e.account) for e in stranded if e.account})
            untold = sorted(lost.keys() - self._told)
            if not stranded and not untold:
                return
            staying: Counter[tuple[str | None, str | None]] = Counter(
                (e.account, e.mode) for e in entries if e.account in running)
            places, _ = place_all(len(stranded), loads(running, staying,
                                                        rt.settings.join_limit,
                                                        self.state.full))
            moves = [Move(e.id, e.channel_id, e.account or "", to, mode)
                     for e, (to, mode) in zip(stranded, places, strict=True)]
            for name in sorted({m.from_account for m in moves}):
                ended = lost.get(name)
                await apply_moves(rt.db, [m for m in moves if m.from_account == name],
                                  ended.code if ended else NOT_LOGGED_IN, rt.now())
        for name in untold:
            ended = lost[name]
            mine = [m for m in moves if m.from_account == name]
            self._told.add(name)
            if mine:
                log.warning("moved %d channel(s) of the watching account %s to %s", len(mine),
                            name, ", ".join(sorted({m.to_account for m in mine})))
            if mine or (ended is not None and ended.notified_at is None):
                await self._tell_lost(rt, name, ended, mine, entries, running)
        await self._take_on_moved(rt, stranded)

    async def promote(self) -> None:
        """Polled channels that a running account has room to join (one logged in since,
        a higher join limit) are joined by it: handed over (journalled as ``ROOM``),
        looked up by it if need be, joined, and read on from their cursors."""
        rt = self.rt
        running = self.running()
        if rt is None or not running:
            return
        async with self._placing:
            entries = await live_entries(rt.db)
            mine = [e for e in entries if e.account in running]
            polled = [(e.id, e.account or "") for e in mine if e.mode == POLLED]
            if not polled:
                return
            held = Counter((e.account, e.mode) for e in mine)
            ups = promotions(polled, loads(running, held, rt.settings.join_limit,
                                           self.state.full))
            by_id = {e.id: e for e in entries}
            for entry_id, account in ups:
                if by_id[entry_id].account == account:
                    await set_holder(rt.db, entry_id, account, JOINED)
            await apply_moves(rt.db, [Move(i, by_id[i].channel_id, by_id[i].account or "", a,
                                           JOINED) for i, a in ups if by_id[i].account != a],
                              ROOM, rt.now())
        for entry_id, account in ups:
            log.info("%s is joined by the watching account %s now (it was polled)",
                     name_of(by_id[entry_id]), account)
        await self._take_on_moved(rt, [by_id[i] for i, _ in ups])

    async def _take_on_moved(self, rt: Runtime, stranded: list[WatchEntry]) -> None:
        now = {e.id: e for e in await live_entries(rt.db)}
        for old in stranded:
            entry = now.get(old.id)
            if entry is None:
                continue
            if entry.channel_id is not None and entry.channel_id in self.live:
                self.live[entry.channel_id] = entry
            if entry.id in self._resolving:
                continue                        # its look-up goes on with the new account
            if entry.resolved:
                await self._activate(rt, entry, join=True)
            elif entry.channel_id is not None or entry.status == "pending":
                self.queue_resolution(entry)

    async def _tell_lost(self, rt: Runtime, name: str, ended: AccountEnd | None,
                         moves: list[Move], entries: list[WatchEntry],
                         running: list[str]) -> None:
        by_id = {e.id: e for e in entries}
        moved = [Moved(name_of(by_id[m.entry_id]), m.to_account, m.mode) for m in moves]
        if ended is not None:
            reason = ended.reason
        else:
            reason = (f"the watching account {name} is not logged in: log it in again with "
                      f"`tgmon login --account {name}`, then restart tgmon")
        key = f"account-lost:{name}:{ended.id if ended is not None else rt.now().isoformat()}"
        await notify_admins(rt, key, moved_notice(name, reason, moved, running))
        if ended is not None and rt.bot is not None and rt.settings.admins:
            await mark_notified(rt.db, ended.id, rt.now())

    # ---- joins -------------------------------------------------------------------

    async def joined(self, account: str, entry: WatchEntry) -> None:
        rt = self.rt
        if rt is None or entry.channel_id is None:
            return
        await set_joined(rt.db, entry.channel_id, rt.now())
        await add_event(rt.db, "joined", entry.channel_id, None, rt.now(), account)
        log.info("joined %s with the watching account %s: Telegram pushes its posts now",
                 name_of(entry), account)

    async def join_refused(self, account: str, entry: WatchEntry, refusal: Refusal) -> None:
        rt = self.rt
        if rt is None or entry.channel_id is None:
            return
        if refusal.too_many:
            # Telegram counts every channel the account is in, tgmon's or not: it takes
            # no more joins; this channel is polled.
            self.state.full[account] = sum(1 for e in self.live.values()
                                           if e.account == account and e.mode == JOINED) - 1
            await set_holder(rt.db, entry.id, account, POLLED)
            current = self.live.get(entry.channel_id)
            if current is not None:
                self.live[entry.channel_id] = replace(current, mode=POLLED)
        log.warning("cannot join %s with the watching account %s: %s; it is polled instead",
                    name_of(entry), account, refusal.why)
        await notify_admins(rt, f"watch-join:{entry.channel_id}",
                            f"⚠️ tgmon cannot join <b>{escape(name_of(entry))}</b>: "
                            f"{escape(refusal.why)}. Its posts are still read every "
                            f"{escape(_minutes(rt.settings.reconcile_interval))}, not pushed.")

    async def flood_wait(self, account: str, request: str, channel_id: int | None,
                         seconds: float) -> None:
        rt = self.rt
        if rt is None:
            return
        self.state.flood_waits[account] = self.state.flood_waits.get(account, 0) + 1
        log.warning("%s of the watching account %s: Telegram asks to wait %s s",
                    request, account, seconds)
        await add_event(rt.db, "flood_wait", channel_id, f"{request} {seconds} s", rt.now(),
                        account)

    async def join_flood_wait(self, account: str, entry: WatchEntry, seconds: float) -> None:
        await self.flood_wait(account, JOIN_REQUEST, entry.channel_id, seconds)

    async def resolve_flood_wait(self, account: str, seconds: float) -> None:
        await self.flood_wait(account, RESOLVE, None, seconds)

    # ---- for the admins' commands ----------------------------------------------

    async def watch(self, username: str, added_by: int,
                    timeout: float = 30.0) -> tuple[WatchEntry, Resolution | None]:
        """Add a username and resolve it; None if the resolution is still queued after
        ``timeout`` seconds (it goes on; admins hear if it fails)."""
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        entry = await add_entry(rt.db, username, None, added_by, rt.now())
        if entry.channel_id is not None and entry.channel_id in self.live:
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
        return await _refreshed_by_id(rt, entry) or entry, outcome

    async def watch_found(self, channel_id: int, added_by: int) -> WatchEntry | None:
        """Watch a channel /find found: the account that searched has its access hash,
        so it needs no look-up if that account takes it. None if it is not among the
        remembered results."""
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
        await set_resolved(rt.db, entry.id, channel_id, access.access_hash, now,
                           self._searcher())
        if access.member:
            await set_joined(rt.db, channel_id, now)
        found = await _refreshed_by_id(rt, entry) or entry
        self.queue_resolution(found)
        return found

    async def unwatch(self, entry: WatchEntry) -> None:
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        await remove_entry(rt.db, entry.id, rt.now())
        if entry.channel_id is not None and entry.channel_id in self.live:
            del self.live[entry.channel_id]
            self._jobs.remove(entry.channel_id)

    def _searcher(self) -> str:
        running = self.running()
        if not running:
            raise TgmonError("The watcher is not running.")
        return running[0]

    async def search(self, query: str, limit: int = 10) -> list[ChannelAccess]:
        """Public channels whose name or username matches (``contacts.search``), by the
        first running account."""
        rt = self.rt
        if rt is None:
            raise TgmonError("The watcher is not running.")
        client = rt.accounts.client(self._searcher())
        try:
            out = await search_channels(client, query, limit)
        except Exception as e:
            seconds = wait_seconds(e)
            if seconds is None:
                raise
            raise TgmonError(f"Telegram asks to wait {describe_wait(seconds)} before "
                             "searching again.") from None
        self.state.remember(out)
        return out


async def _refreshed_by_id(rt: Runtime, entry: WatchEntry) -> WatchEntry | None:
    return await entry_by_id(rt.db, entry.id)


def _minutes(interval: timedelta) -> str:
    minutes = max(1, round(interval.total_seconds() / 60))
    return f"{minutes} min"
