"""The watcher: captures every post, edit and deletion of the watched channels, with
one or more watching accounts.

* live: Telethon's events on every watching account (:mod:`bot.telegram.live`), stored
  as ``live``;
* catch-up: after start and after each reconnect of an account, each channel it holds
  is read forward from its cursor and its recent posts are re-checked (:mod:`.catchup`);
* reconcile and re-check jobs per channel, staggered, on the app's scheduler
  (:mod:`.jobs`, :mod:`.reconcile`, :mod:`.recheck`), by the account holding the
  channel, stored as ``catch-up``;
* the watch list: each channel placed on an account (:mod:`.spread`), looked up once by
  that account (:mod:`.resolver`), taken on and off (:mod:`.channels`, also for the
  admins' commands) and joined so Telegram pushes its posts (:mod:`.membership`);
  channels of an account Telegram ended move to the others;
* per account, its client and its share of the work (:mod:`.accounts`); what a failed
  or successful run changes (:mod:`.outcomes`), and the watch list's state
  (:mod:`.state`).

A flood wait holds back only the kind of request it was for, of the account it was
for, for as long as Telegram says; a failing channel is reported once and retried with
backoff while the others go on. Nothing here logs post text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from functools import partial
from typing import Any

from bot.runtime import Runtime, WatchingAccount
from bot.tasks import stop_tasks
from bot.telegram.account_end import account_ended
from bot.telegram.clients import Client, WatchingClient
from bot.telegram.errors import Action, classify
from bot.telegram.live import LiveCapture
from bot.telegram.records import ChannelAccess
from bot.telegram.requests import Resolution
from bot.watcher.accounts import AccountWork
from bot.watcher.catchup import Sweeper
from bot.watcher.channels import WatchList
from bot.watcher.comments import CommentCapture, comments_on
from bot.watcher.health import HISTORY, MESSAGES, ChannelHealth
from bot.watcher.jobs import RECHECK, RECONCILE, ChannelJobs
from bot.watcher.membership import JOIN_SPACING, Joiner
from bot.watcher.notify import name_of
from bot.watcher.outcomes import channel_state, record_failure, record_success
from bot.watcher.recheck import recheck
from bot.watcher.reconcile import reconcile
from bot.watcher.resolver import RESOLVE_SPACING, Resolver
from bot.watcher.state import WatchState
from config.channels import load_channels
from config.errors import TgmonError
from config.settings import Settings
from storage.capture import Batch, add_event, all_states, init_state, save_batch
from storage.comments import comment_choices
from storage.models import CapturePath
from storage.watchlist import WatchEntry, add_entry, live_entries, sync_config

log = logging.getLogger(__name__)


def config_channels(settings: Settings) -> list[tuple[str, str | None]]:
    """The configured watch list: ``TGMON_WATCH`` if set, else the channels file."""
    if settings.watch is not None:
        return [(u, None) for u in settings.watch]
    return [(c.username, c.label) for c in load_channels(settings.channels_file)]


class Watcher:
    name = "watcher"

    def __init__(self, *, resolve_spacing: float = RESOLVE_SPACING,
                 join_spacing: float = JOIN_SPACING) -> None:
        self.resolve_spacing = resolve_spacing
        self.join_spacing = join_spacing
        self.rt: Runtime | None = None
        self.state = WatchState()
        self._config: list[tuple[str, str | None]] = []
        self._ready = asyncio.Event()
        self._loading: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()      # our own background tasks
        self._running: set[asyncio.Task[Any]] = set()    # runs of jobs, wherever started
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self.works: dict[str, AccountWork] = {}          # per watching account
        self._jobs: ChannelJobs | None = None
        self._list: WatchList | None = None
        self._comments = CommentCapture()

    @property
    def running(self) -> bool:
        return self.rt is not None

    @property
    def live(self) -> dict[int, WatchEntry]:
        return self.state.live

    @property
    def health(self) -> Mapping[int, ChannelHealth]:
        return self.state.health

    @property
    def reconnects(self) -> int:
        return self.state.reconnects

    @property
    def sweeps(self) -> int:
        """Catch-up sweeps completed since start, over all accounts."""
        return sum(w.sweeper.sweeps for w in self.works.values())

    # ---- lifecycle -------------------------------------------------------------

    def attach(self, rt: Runtime) -> None:
        """Before the clients connect: handlers first, on every watching account, so
        nothing Telethon delivers at connect is lost; the channels load meanwhile."""
        self.rt = rt
        self._config = config_channels(rt.settings)      # a bad file fails the start
        for account in rt.accounts.all:
            self._attach_account(account)
        self._loading = asyncio.ensure_future(self._load(rt))
        # start() re-raises a failure; if the app fails before start(), nobody would
        self._loading.add_done_callback(
            lambda f: f.cancelled() or f.exception())

    def _attach_account(self, account: WatchingAccount) -> None:
        name, client = account.name, account.client
        live = LiveCapture(self.live.__contains__, partial(self._store_live, name),
                           self._ready)
        live.attach(client)
        sweeper = Sweeper(partial(self.state.held_by, name), self.run)
        work = self.works[name] = AccountWork(name, client, live, sweeper)
        if isinstance(client, WatchingClient):
            listener = partial(self._on_reconnect, name)
            client.reconnect_listeners.append(listener)
            work.listeners.append(listener)
        else:
            log.warning("the user client of %s cannot report reconnects: missed posts are "
                        "found by the periodic reconcile only", name)

    async def _load(self, rt: Runtime) -> None:
        try:
            await sync_config(rt.db, self._config, rt.now())
            for entry in await live_entries(rt.db):
                if entry.channel_id is not None:
                    await init_state(rt.db, entry.channel_id)
                    if entry.resolved:
                        self.state.take_on(entry)
        finally:
            self._ready.set()

    async def start(self, rt: Runtime) -> None:
        assert self._loading is not None
        await self._loading
        self._jobs = ChannelJobs(rt.scheduler, self.run, {
            RECONCILE: rt.settings.reconcile_interval, RECHECK: rt.settings.recheck_interval})
        self._list = watchlist = WatchList(rt, self.state, self._jobs, self.works, self.run,
                                           self._spawn)
        for account in rt.accounts.running():
            self._start_account(rt, watchlist, self.works[account.name])
        for account in rt.accounts.all:
            if not account.running:
                await self.works[account.name].stop()
        running = set(rt.accounts.names())
        now = rt.now()
        entries = await live_entries(rt.db)
        states = await all_states(rt.db)
        watched = [e for e in entries if e.channel_id in self.live and e.account in running]
        for i, entry in enumerate(watched):
            assert entry.channel_id is not None
            self._jobs.add(entry.channel_id, now, i, len(watched))
            state = states.get(entry.channel_id)
            if state is None or state.joined_at is None:
                watchlist.join(entry)
        for entry in entries:
            # new, or moved and not looked up by its account yet (the channels of
            # accounts that do not run now move first: rehome)
            if entry.channel_id not in self.live and entry.status in ("pending", "ok") and \
                    (entry.account is None or entry.account in running):
                watchlist.queue_resolution(entry)
        await watchlist.rehome()
        await watchlist.promote()
        self._spawn(self._follow_accounts(rt), "watcher accounts")
        for name in running:
            self.works[name].sweeper.request("start")
        log.info("watching %d channels (%d waiting to be looked up) with %s", len(watched),
                 sum(not e.resolved and e.status == "pending" for e in entries),
                 ", ".join(rt.accounts.names()))

    def _start_account(self, rt: Runtime, watchlist: WatchList, work: AccountWork) -> None:
        name = work.name
        gate = self.state.gate_of(name)
        work.resolver = Resolver(work.client, gate, rt.now,
                                 partial(watchlist.resolve_flood_wait, name),
                                 spacing=self.resolve_spacing)
        work.joiner = Joiner(work.client, gate, rt.now, partial(watchlist.joined, name),
                             partial(watchlist.join_refused, name),
                             partial(watchlist.join_flood_wait, name),
                             spacing=self.join_spacing)
        work.joiner.start(f"watcher joins ({name})")

    async def _follow_accounts(self, rt: Runtime) -> None:
        """When Telegram ends an account while others run: stop its work and move its
        channels (``rt.accounts.changed``)."""
        while True:
            await rt.accounts.changed.wait()
            if self.rt is None or self._list is None:
                return
            for account in rt.accounts.all:
                work = self.works.get(account.name)
                if not account.running and work is not None and work.started:
                    await work.stop()
                    work.resolver = work.joiner = None
            await self._list.rehome()

    async def stop(self) -> None:
        rt, self.rt = self.rt, None
        for work in self.works.values():
            await work.stop()
        if self._list is not None:
            await self._list.stop()
        await stop_tasks(self._tasks | self._running)
        if self._jobs is not None:
            for cid in list(self.live):
                self._jobs.remove(cid)
        if self._list is not None:
            self._list.cancel_waiters()
        self._ready.set()
        del rt                          # the app disconnects the clients

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- live ------------------------------------------------------------------

    async def _store_live(self, account: str, batch: Batch) -> None:
        """What ``account``'s client was pushed."""
        rt = self.rt
        if rt is None:
            return
        result = await save_batch(rt.db, batch, CapturePath.LIVE, rt.now(), account)
        if result.new or result.edited or result.deleted:
            rt.log_changed.notify()

    async def _on_reconnect(self, account: str) -> None:
        rt = self.rt
        work = self.works.get(account)
        if rt is None or work is None:
            return
        self.state.reconnects += 1
        log.info("the watching client of %s reconnected: catching up", account)
        await add_event(rt.db, "reconnect", None, None, rt.now(), account)
        work.sweeper.request("reconnect")

    # ---- per-channel work ------------------------------------------------------

    def _lock(self, channel_id: int, kind: str) -> asyncio.Lock:
        return self._locks.setdefault((channel_id, kind), asyncio.Lock())

    async def run(self, channel_id: int, kind: str) -> None:
        """One reconcile or re-check of a channel (a job, a sweep or a new channel's
        catch-up), by the account holding it. Skipped if the same work is running, or
        the account cannot name the channel yet (moved, being looked up); never raises."""
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
                entry = self.live.get(channel_id)      # its holder may have changed
                if entry is not None:
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
        cid, account = entry.channel_id, entry.account or ""
        client = rt.accounts.client(account)
        if client is None or not entry.resolved:
            return                      # moved: its new account takes it on after look-up
        gate = self.state.gate_of(account)
        request = HISTORY if kind == RECONCILE else MESSAGES
        until = gate.closed_until(request, rt.now())
        if until is not None:
            self._jobs.postpone(cid, kind, until)
            return
        health = self.state.health_of(cid)
        try:
            if kind == RECONCILE:
                result = await reconcile(client, rt.db, entry, now=rt.now,
                                         initial_window=rt.settings.initial_window)
            else:
                result = await recheck(client, rt.db, entry, now=rt.now,
                                       window=rt.settings.recheck_window)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if account_ended(e, "user", account) is not None or not client.is_connected():
                # the account's end (the app lets it go and moves its channels), or its
                # client disconnected under the read: no failure of the channel's
                log.info("%s of %s stopped: %s", kind, name_of(entry), type(e).__name__)
                return
            failed = classify(e)
            if failed.action is Action.PAUSE:
                until = gate.close(request, failed.seconds, rt.now())
                health.flood_waits += 1
                assert self._list is not None
                await self._list.flood_wait(account, request, cid, failed.seconds)
                self._jobs.postpone(cid, kind, until)
                return
            marked = channel_state(failed, name_of(entry))
            if marked is not None:
                await record_failure(rt, self.state, self._jobs, entry, kind, failed.error,
                                     *marked)
            else:
                await record_failure(rt, self.state, self._jobs, entry, kind, failed.error,
                                     None, None, exc=e)
            return
        if result.new or result.edited or result.deleted:
            rt.log_changed.notify()
            log.info("%s of %s: %d new, %d edited, %d deleted", kind, name_of(entry),
                     result.new, result.edited, result.deleted)
        await record_success(rt, self.state, entry, kind)
        await self._comment_pass(rt, client, entry, kind)

    async def _comment_pass(self, rt: Runtime, client: Client, entry: WatchEntry,
                            kind: str) -> None:
        """After the posts: the channel's comments, when it has them on. A failure here
        is logged and retried at the next pass; it never counts against the channel."""
        if not comments_on(rt.settings.comments, await comment_choices(rt.db),
                           entry.username):
            return
        try:
            if kind == RECONCILE:
                found = await self._comments.catch_up(client, rt.db, entry, now=rt.now,
                                                      window=rt.settings.recheck_window)
            else:
                found = await self._comments.recheck(client, rt.db, entry, now=rt.now,
                                                     window=rt.settings.recheck_window)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("comments of %s: %s failed (%s); tried again at the next pass",
                        name_of(entry), kind, classify(e).detail)
            return
        if found.new or found.edited or found.deleted:
            log.info("comments of %s: %d new, %d edited, %d deleted", name_of(entry),
                     found.new, found.edited, found.deleted)

    # ---- for the admins' commands (bot.commands.context.WatchOps) ----------------

    def _watchlist(self) -> WatchList:
        if self.rt is None or self._list is None:
            raise TgmonError("The watcher is not running.")
        return self._list

    async def watch(self, username: str, added_by: int,
                    timeout: float = 30.0) -> tuple[WatchEntry, Resolution | None]:
        """Add a username and resolve it; None if the resolution is still queued after
        ``timeout`` seconds (it goes on; admins hear if it fails)."""
        rt = self.rt
        if rt is not None and self._list is None:
            # Attached, not started yet (a /watch handled in the catch-up as the app
            # connects): start() looks up every pending entry, this one too.
            return await add_entry(rt.db, username, None, added_by, rt.now()), None
        return await self._watchlist().watch(username, added_by, timeout)

    async def watch_found(self, channel_id: int, added_by: int) -> WatchEntry | None:
        """Watch a channel /find found; None if it is not among the remembered results."""
        return await self._watchlist().watch_found(channel_id, added_by) \
            if self.rt is not None and self._list is not None else None

    async def unwatch(self, entry: WatchEntry) -> None:
        await self._watchlist().unwatch(entry)

    async def search(self, query: str, limit: int = 10) -> list[ChannelAccess]:
        """Public channels whose name or username matches."""
        return await self._watchlist().search(query, limit)
