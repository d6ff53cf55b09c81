"""The digest scheduler: one APScheduler cron job per chat, rebuilt from the database.

- At start, and every few minutes after (``sync``), the jobs are made to match the
  chats and their schedules in the database (new chats, /digest, /timezone, a chat
  that blocked the bot), and a digest that fell due but was not sent — tgmon was down,
  or the chat appeared just before — is sent once if it is no older than
  ``TGMON_DIGEST_GRACE``. Older ones are skipped: the next digest covers their period.
- A job firing sends the chat's digest for its latest due time. Whether it is sent is
  decided by the database, never by the scheduler's memory: the digest's messages and
  the chat's "sent up to" mark go in one transaction, and a due time at or before the
  mark is never sent again.
- A chat gets a digest if it may use the bot when the digest is due: a private chat if
  its person may (``bot.commands.access.level_of``), a group if its sponsor may (who
  last changed its schedule, else who last subscribed it or gave it a rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app import Runtime
from bot.commands.access import level_of
from bot.commands.router import Access
from bot.digest.period import period_since
from bot.digest.scheduling.compose import DigestCache, compose, enqueue_digest
from bot.digest.scheduling.plan import Plan, due_to_send
from storage.chats import grant_of
from storage.digest_schedules import (
    ChatSchedule,
    get_chat_schedule,
    group_sponsor,
    note_changed,
    stream_chat_schedules,
)

log = logging.getLogger(__name__)

NAME = "digests"
SYNC_JOB = "digests:sync"
SYNC_EVERY = timedelta(minutes=5)
BUILDING_AT_ONCE = 2             # digests built at the same time (database and CPU bound)


def job_id(chat_id: int) -> str:
    return f"digest:{chat_id}"


class DigestScheduler:
    name = NAME

    def __init__(self, sync_every: timedelta = SYNC_EVERY) -> None:
        self.sync_every = sync_every
        self.rt: Runtime | None = None
        self._plans: dict[int, Plan] = {}          # chat id -> the plan its job runs
        self._locks: dict[int, asyncio.Lock] = {}  # one digest at a time per chat
        self._building = asyncio.Semaphore(BUILDING_AT_ONCE)
        self._cache = DigestCache()
        self._running: set[asyncio.Task[Any]] = set()

    # ---- lifecycle ----

    async def start(self, rt: Runtime) -> None:
        if rt.bot is None:
            return                              # no bot: nothing could be sent
        from apscheduler.triggers.interval import IntervalTrigger

        self.rt = rt
        rt.scheduler.add_job(self._job, IntervalTrigger(seconds=self.sync_every.total_seconds()),
                             args=[self.sync], id=SYNC_JOB, replace_existing=True,
                             next_run_time=rt.now(), coalesce=True, max_instances=1)

    async def stop(self) -> None:
        rt, self.rt = self.rt, None
        if rt is None:
            return
        if rt.scheduler.running:
            for jid in [SYNC_JOB, *(job_id(c) for c in self._plans)]:
                with contextlib.suppress(Exception):
                    rt.scheduler.remove_job(jid)
        self._plans.clear()
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _job(self, work: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Runs a scheduled job's work, so that stop() can wait for it to end."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            if self.rt is not None:
                await work(*args)
        finally:
            self._running.discard(task)

    def _runtime(self) -> Runtime:
        if self.rt is None:
            raise RuntimeError("the digest scheduler is not running")
        return self.rt

    # ---- jobs ----

    def plan_of(self, chat: ChatSchedule) -> Plan:
        s = self._runtime().settings
        return Plan.of(chat, s.digest_time, s.timezone)

    def _install(self, chat_id: int, plan: Plan | None) -> None:
        """Make the chat's job run ``plan`` (None: no job)."""
        rt = self._runtime()
        if self._plans.get(chat_id) == plan:
            return
        if plan is None:
            self._plans.pop(chat_id, None)
            with contextlib.suppress(Exception):
                rt.scheduler.remove_job(job_id(chat_id))
            return
        rt.scheduler.add_job(
            self._job, plan.trigger(), args=[self.deliver_due, chat_id], id=job_id(chat_id),
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=int(rt.settings.digest_grace.total_seconds()))
        self._plans[chat_id] = plan

    def _wanted(self, chat: ChatSchedule) -> Plan | None:
        return self.plan_of(chat) if chat.schedule.enabled and not chat.blocked else None

    async def sync(self) -> None:
        """Make the jobs match the database; send what fell due and was not sent."""
        rt = self._runtime()
        seen: set[int] = set()
        missed: list[int] = []
        async for chat in stream_chat_schedules(rt.db):
            seen.add(chat.chat_id)
            plan = self._wanted(chat)
            self._install(chat.chat_id, plan)
            if plan and due_to_send(plan, chat, rt.now(), rt.settings.digest_grace):
                missed.append(chat.chat_id)
        for chat_id in set(self._plans) - seen:
            self._install(chat_id, None)
        for chat_id in missed:
            try:
                await self.deliver_due(chat_id)
            except Exception:
                log.exception("the missed digest of chat %s failed", chat_id)

    async def sync_chat(self, chat_id: int) -> None:
        """Rebuild one chat's job after its schedule or time zone changed."""
        chat = await get_chat_schedule(self._runtime().db, chat_id)
        self._install(chat_id, None if chat is None else self._wanted(chat))

    def next_run(self, chat_id: int) -> datetime | None:
        """When the chat's job fires next, as the scheduler has it."""
        job = self._runtime().scheduler.get_job(job_id(chat_id))
        return None if job is None else job.next_run_time

    # ---- sending ----

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def may_receive(self, chat: ChatSchedule) -> bool:
        """Whether the chat may get a scheduled digest now (see the module's notes)."""
        rt = self._runtime()
        who = chat.chat_id if chat.kind == "private" else await group_sponsor(rt.db, chat.chat_id)
        if who is None:
            return False
        return level_of(who, rt.settings, await grant_of(rt.db, who)) >= Access.MEMBER

    async def deliver_due(self, chat_id: int) -> bool:
        """Send the chat's digest for its latest due time, unless it was sent, is too
        old, or the chat may not have it. True if it was put in the outbox."""
        rt = self._runtime()
        async with self._lock(chat_id):
            chat = await get_chat_schedule(rt.db, chat_id)
            if chat is None:
                return False
            due = due_to_send(self.plan_of(chat), chat, rt.now(), rt.settings.digest_grace)
            if due is None or not await self.may_receive(chat):
                return False
            return await self._send(chat, due, due)

    async def send_now(self, chat_id: int) -> bool:
        """``/digest now``: the period since the chat's previous digest, up to now."""
        rt = self._runtime()
        async with self._lock(chat_id):
            chat = await get_chat_schedule(rt.db, chat_id)
            if chat is None:
                return False
            return await self._send(chat, None, rt.now().replace(microsecond=0))

    async def _send(self, chat: ChatSchedule, due: datetime | None, end: datetime) -> bool:
        rt = self._runtime()
        previous = chat.schedule.period_end
        period = period_since(previous, end)
        async with self._building:
            composed = await compose(rt.db, rt.settings, chat.chat_id, chat.timezone, period,
                                     cache=self._cache, now=rt.now())
        sent = await enqueue_digest(rt.db, chat.chat_id, due=due, period=period,
                                    expected_end=previous, composed=composed, now=rt.now())
        if sent:
            wake_sender(rt)
            log.info("digest for chat %s (%s to %s) queued", chat.chat_id,
                     period.start, period.end)
        return sent


def wake_sender(rt: Runtime) -> None:
    from bot.delivery.sender import Sender

    sender = rt.component("sender")
    if isinstance(sender, Sender):
        sender.wake.notify()


def scheduler_of(rt: Runtime) -> DigestScheduler | None:
    found = rt.component(NAME)
    return found if isinstance(found, DigestScheduler) and found.rt is not None else None


async def schedule_changed(rt: Runtime, chat_id: int, now: datetime) -> None:
    """After a chat's time zone changed: earlier due times are not missed ones, and its
    job moves to the new zone."""
    await note_changed(rt.db, chat_id, now)
    scheduler = scheduler_of(rt)
    if scheduler is not None:
        await scheduler.sync_chat(chat_id)
