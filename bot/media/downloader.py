"""The media downloader: an app component that works through the download queue
(``media_items``), apart from capture, so a large file never delays a post or an alert.

A few workers take pending items (photos first; one worker only takes small files, so a
photo never waits behind videos). For each: the settings decide whether it is fetched
(:func:`bot.media.policy.admit`); the budget and the disk whether it may start
(:func:`~bot.media.policy.lack_of_space`: else downloads pause, and the admins are told
once); :func:`~bot.media.policy.source` which watching account fetches it (a file's
location is valid for the account that read the post only: that account while it runs,
else the channel's holder, which reads the post again for its own); then it is fetched
part by part (:mod:`bot.media.fetch`) with that account's client. After a failure,
:func:`~bot.media.policy.after_failure` says what next: a flood wait holds every
download of that account until it is over (the partial file waits), an expired file
reference is refreshed by reading the message again (a post deleted meanwhile leaves its
item ``missed``, with the reason), the network is retried with backoff, Telegram's
refusals a few times before the item ``failed``. Photos get a perceptual hash for
matching re-posted pictures.

It wakes when the watcher stores posts (following ``rt.log_changed``) and polls slowly.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from html import escape

from bot.media import policy
from bot.media.fetch import Fetched, discard_partial, fetch_file
from bot.media.phash import photo_hash
from bot.runtime import Runtime, Signal
from bot.tasks import run_rounds, stop_tasks
from bot.telegram.errors import classify
from bot.telegram.files import PART, PartFetcher, reread_file
from bot.watcher.notify import notify_admins
from config.sizes import human_size
from storage import media
from storage.media import MediaItem, StoredFile
from storage.mediastore import MediaStore, extension
from storage.models import FileRef

log = logging.getLogger(__name__)

SMALL = 8 << 20                 # the express worker's files: photos and small documents
SPACE_RECHECK = 300.0           # seconds between looks at the disk while paused for it
POLL = 60.0                     # seconds between looks at the queue when nothing wakes it


class MediaDownloader:
    name = "media"

    def __init__(self, *, workers: int = 3, part: int = PART, poll: float = POLL) -> None:
        self.workers = max(workers, 1)
        self.part = part
        self.poll = poll
        self.rt: Runtime | None = None
        self.store: MediaStore | None = None
        # account -> until when Telegram asked its downloads to wait
        self.flood_until: dict[str, datetime] = {}
        self.pause: media.Pause | None = None           # no space: nothing starts
        self.fetched = 0                                # files stored by this run
        self.bytes_fetched = 0
        self.flood_waits = 0
        self._busy: dict[int, int] = {}                 # item id -> its announced size
        self._network: dict[int, int] = {}              # item id -> network failures in a row
        self._claiming = asyncio.Lock()
        self._pausing = asyncio.Lock()                  # workers meeting the same pause
        self._wake = Signal()
        self._wakers: list[asyncio.Event] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._undo: Callable[[], None] | None = None

    # ---- the component ----

    async def start(self, rt: Runtime) -> None:
        s = rt.settings
        if not s.media:
            log.info("media downloads are off (TGMON_MEDIA=off)")
            return
        self.rt = rt
        self.store = MediaStore(s.media_path)
        await asyncio.get_running_loop().run_in_executor(None, self._prepare_store)
        reopened = await media.reopen(rt.db, s.media, s.media_max_size)
        if reopened:
            log.info("%d media items admitted by the current settings queued again", reopened)
        self.pause = await media.get_pause(rt.db)
        self._undo = rt.log_changed.follow(self._wake)
        self._wakers = [asyncio.Event() for _ in range(self.workers)]
        self._tasks = [asyncio.create_task(self._relay(), name="media wake")]
        self._tasks += [asyncio.create_task(self._worker(i), name=f"media worker {i}")
                        for i in range(self.workers)]

    def _prepare_store(self) -> None:
        assert self.store is not None
        self.store.ensure()
        self.store.clear_incoming()

    async def stop(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None
        await stop_tasks(self._tasks)
        self._tasks, self.rt = [], None

    def wake(self) -> None:
        self._wake.notify()

    @property
    def downloading(self) -> int:
        """Files being downloaded now."""
        return len(self._busy)

    async def _relay(self) -> None:
        while True:
            await self._wake.wait()
            for event in self._wakers:
                event.set()

    # ---- workers ----

    async def _worker(self, index: int) -> None:
        rt = self.rt
        assert rt is not None
        # The first worker takes only small files: photos never wait behind videos.
        max_size = SMALL if index == 0 and self.workers > 1 else None
        wake = self._wakers[index]

        def woken() -> Awaitable[bool]:
            wake.clear()
            return wake.wait()

        await run_rounds(partial(self._one, max_size), woken, what="media download",
                         retry=30.0, log=log)

    async def _one(self, max_size: int | None) -> float | None:
        """Handle the next item. Returns how long to wait before looking again (0: at
        once; None: until woken or the poll interval)."""
        rt = self.rt
        assert rt is not None
        now = rt.now()
        if self.pause is not None and not await self._pause_over():
            return SPACE_RECHECK
        async with self._claiming:          # one item, one worker
            item = await media.next_pending(rt.db, now, self._busy, max_size=max_size)
            if item is not None:
                self._busy[item.id] = item.size or 0
        if item is None:
            later = await media.next_wakeup(rt.db)
            if later is None:
                return self.poll
            return min(max((later - now).total_seconds(), 0.5), self.poll)
        try:
            await self._handle(item)
        finally:
            self._busy.pop(item.id, None)
        return 0.0

    async def _handle(self, item: MediaItem) -> None:
        rt, store = self.rt, self.store
        assert rt is not None and store is not None
        s = rt.settings
        verdict = policy.admit(item.kind, item.size, s.media, s.media_max_size)
        if verdict is not None:
            await media.set_status(rt.db, item.id, *verdict)
            return
        if item.file is None:
            await media.set_status(rt.db, item.id, "failed", "no location to fetch it from")
            return
        source = await self._source(item)
        if source is None:
            return
        in_flight = sum(size for i, size in self._busy.items() if i != item.id)
        loop = asyncio.get_running_loop()
        free = await loop.run_in_executor(None, store.free_bytes)
        short = policy.lack_of_space(item.size, await media.stored_bytes(rt.db), in_flight,
                                     s.media_budget, free)
        if short is not None:
            await self._pause_for(*short)
            return
        await self._fetch(item, source)

    async def _source(self, item: MediaItem) -> policy.Source | None:
        """The account that fetches the item now, with its client; None when none does
        (the item then waits, or failed: recorded here)."""
        rt = self.rt
        assert rt is not None
        now = rt.now()
        readers = await media.channel_readers(rt.db, item.channel_id)
        source = policy.source(item.account, readers.holder, readers.watched,
                               rt.accounts.names(), readers.hashes)
        if source.fail is not None:
            log.warning("the %s cannot be fetched: %s", _where(item), source.fail)
            await media.set_status(rt.db, item.id, "failed", source.fail, attempt=True)
            await self._discard(item)
            return None
        if source.wait is not None:
            await media.retry_at(rt.db, item.id, source.wait,
                                 now + timedelta(seconds=policy.HOLDER_WAIT), attempt=False)
            return None
        assert source.account is not None
        until = self.flood_until.get(source.account)
        if until is not None and now < until:
            await media.retry_at(rt.db, item.id, f"{source.account} waits (FLOOD_WAIT)",
                                 until, attempt=False)
            return None
        self.flood_until.pop(source.account, None)
        return source

    async def _fetch(self, item: MediaItem, source: policy.Source) -> None:
        rt, store = self.rt, self.store
        assert rt is not None and store is not None and item.file is not None
        ref, refreshes = item.file, 0
        if source.reread:
            # the location is another account's (the channel moved since): this account
            # reads the post again for its own
            log.info("the %s is read again by %s (its location is %s's)", _where(item),
                     source.account, item.account)
            fresh = await self._refresh(item, source)
            if fresh is None:
                return
            ref = fresh
        ext = extension(item.kind, item.mime_type, item.file_name)
        while True:
            client = rt.accounts.client(source.account or "")
            if client is None:          # ended meanwhile: decided again next time
                await media.retry_at(rt.db, item.id, f"the account {source.account} ended",
                                     rt.now(), attempt=False)
                return
            fetcher = PartFetcher(client, ref)
            try:
                fetched = await fetch_file(store, item.id, ext, fetcher, part=self.part)
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    await self._pause_for("disk_full", f"the disk is full ({e.strerror})")
                    return
                await self._failed(item, e, refreshes, source)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                step = await self._failed(item, e, refreshes, source)
                if step is not policy.Step.REFRESH:
                    return
                fresh = await self._refresh(item, source)
                if fresh is None:
                    return
                ref, refreshes = fresh, refreshes + 1
                continue
            finally:
                await fetcher.close()
            await self._done(item, fetched)
            return

    async def _failed(self, item: MediaItem, error: BaseException,
                      refreshes: int, source: policy.Source) -> policy.Step:
        """Record a failed try as the policy says; returns the step taken."""
        rt = self.rt
        assert rt is not None
        now = rt.now()
        account = source.account or ""
        failed = classify(error, "user")
        network = self._network.get(item.id, 0)
        then = policy.after_failure(failed, item.attempts, refreshes, now,
                                    network_tries=network)
        where = _where(item)
        if then.step is policy.Step.PAUSE:
            assert then.until is not None
            self.flood_waits += 1
            # whole seconds, as the database keeps the item's not_before: the item is
            # not taken again before the gate opens
            until = then.until.replace(microsecond=0) + \
                timedelta(seconds=1 if then.until.microsecond else 0)
            self.flood_until[account] = max(self.flood_until.get(account, until), until)
            log.warning("media downloads of %s wait %s s (Telegram asked: %s)", account,
                        failed.seconds, failed.error)
            await media.retry_at(rt.db, item.id, then.reason, until, attempt=False)
        elif then.step is policy.Step.RETRY:
            assert then.until is not None
            if not then.counts:
                self._network[item.id] = network + 1
            log.info("downloading the %s failed (%s); trying again at %s", where, then.reason,
                     then.until.isoformat())
            await media.retry_at(rt.db, item.id, then.reason, then.until, attempt=then.counts)
        elif then.step is policy.Step.FAILED:
            log.warning("downloading the %s failed for good: %s", where, then.reason)
            await media.set_status(rt.db, item.id, "failed", then.reason, attempt=True)
            await self._discard(item)
        elif then.step is policy.Step.STOP:
            assert then.until is not None
            log.info("downloading the %s stopped: the account %s ended (%s)", where, account,
                     then.reason)
            await media.retry_at(rt.db, item.id, f"the account {account} ended: {then.reason}",
                                 then.until, attempt=False)
        return then.step

    async def _refresh(self, item: MediaItem, source: policy.Source) -> FileRef | None:
        """A fresh file reference of ``source``'s account, read with the message; None
        when there is none (the item is then recorded as missed, or waits for a later
        try)."""
        rt = self.rt
        assert rt is not None and source.account is not None \
            and source.access_hash is not None
        client = rt.accounts.client(source.account)
        if client is None:
            await media.retry_at(rt.db, item.id, f"the account {source.account} ended",
                                 rt.now(), attempt=False)
            return None
        try:
            again = await reread_file(client, item.channel_id, source.access_hash,
                                      item.message_id, item.file_key)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            await self._failed(item, e, policy.MAX_REFRESHES, source)
            return None
        if again.gone or again.replaced:
            why = ("the post was deleted before its file was fetched" if again.gone else
                   "the post's media was replaced before this file was fetched")
            log.info("%s %s of channel %s: recorded as missed", why, item.message_id,
                     item.channel_id)
            await media.set_status(rt.db, item.id, "missed", why, attempt=True)
            await self._discard(item)
            return None
        assert again.ref is not None
        await media.set_reference(rt.db, item.id, again.ref, source.account)
        return again.ref

    async def _discard(self, item: MediaItem) -> None:
        store = self.store
        assert store is not None
        await asyncio.get_running_loop().run_in_executor(None, discard_partial, store, item.id)

    async def _done(self, item: MediaItem, fetched: Fetched) -> None:
        rt, store = self.rt, self.store
        assert rt is not None and store is not None
        phash = None
        if item.kind == "photo":
            phash = await asyncio.get_running_loop().run_in_executor(
                None, photo_hash, store.path(fetched.path))
        await media.record_done(rt.db, item.id, StoredFile(
            fetched.sha256, fetched.size, fetched.path, item.mime_type or _photo_mime(item),
            phash), rt.now())
        self._network.pop(item.id, None)
        self.fetched += 1
        self.bytes_fetched += fetched.size - fetched.resumed_at
        if fetched.resumed_at:
            log.info("resumed %s of post %s in channel %s at %s: stored (%s)", item.kind,
                     item.message_id, item.channel_id, human_size(fetched.resumed_at),
                     human_size(fetched.size))

    # ---- the pause for space ----

    async def _pause_for(self, reason: str, detail: str) -> None:
        rt = self.rt
        assert rt is not None
        async with self._pausing:
            await self._pause_once(rt, reason, detail)

    async def _pause_once(self, rt: Runtime, reason: str, detail: str) -> None:
        now = rt.now()
        self.pause = await media.set_pause(rt.db, reason, detail, now)
        if self.pause.told_at is None:
            log.warning("media downloads paused: %s; capture goes on", detail)
            what = "the disk is nearly full" if reason == "disk_full" else \
                "the media budget is reached"
            await notify_admins(
                rt, f"media-pause:{reason}:{self.pause.since.isoformat()}",
                f"⏸ Media downloads paused: {what}. {escape(detail)}. Capture and alerts "
                "go on; downloads resume when there is room.")
            await media.mark_told(rt.db, now)
            self.pause = await media.get_pause(rt.db)

    async def _pause_over(self) -> bool:
        """Whether there is room again for the next file (then the pause ends)."""
        rt, store = self.rt, self.store
        assert rt is not None and store is not None and self.pause is not None
        s = rt.settings
        nxt = await media.next_pending(rt.db, rt.now(), self._busy)
        free = await asyncio.get_running_loop().run_in_executor(None, store.free_bytes)
        if nxt is not None and policy.lack_of_space(
                nxt.size, await media.stored_bytes(rt.db), sum(self._busy.values()),
                s.media_budget, free) is not None:
            return False
        if await media.clear_pause(rt.db):
            log.warning("media downloads resume: there is room again")
        self.pause = None
        return True


def _where(item: MediaItem) -> str:
    return f"{item.kind} of post {item.message_id} in channel {item.channel_id}"


def _photo_mime(item: MediaItem) -> str | None:
    return "image/jpeg" if item.kind == "photo" else None
