"""The digest scheduler: one APScheduler cron job per chat, rebuilt from the database.

- At start, and every few minutes after (``sync``), the jobs are made to match the
  chats and their schedules in the database (new chats, /digest, /timezone, a chat
  that blocked the bot), and a digest that fell due but was not sent — tgmon was down,
  or the chat appeared just before — is sent once if it is no older than
  ``TGMON_DIGEST_GRACE``. Older ones are skipped: the next digest covers their period.
- A job firing sends the chat's digest for its latest due time. Whether it is sent is
  decided by the database, never by the scheduler's memory: the digest's messages and
  the chat's "sent up to" mark go in one transaction, and a due time at or before the
  mark is never sent again. Jobs that fire together make one batch: their digests
  share the work (``compose_many``).
- A chat gets a digest if it may use the bot when the digest is due: a private chat if
  its person may (``bot.commands.access.level_of``), a group if its sponsor may (who
  last changed its schedule, else who last subscribed it or gave it a rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.commands.access import level_of
from bot.commands.router import Access
from bot.digest.period import period_since
from bot.digest.scheduling.compose import DigestCache, DigestRequest, compose_many
from bot.digest.scheduling.enqueue import enqueue_digest
from bot.digest.scheduling.plan import Plan, due_to_send
from bot.failures import failure, log_traceback
from bot.runtime import Runtime
from bot.tasks import stop_tasks
from storage.chats import grant_of
from storage.digest_queries import Period
from storage.digest_schedules import (
    ChatSchedule,
    get_chat_schedule,
    group_sponsor,
    stream_chat_schedules,
)

log = logging.getLogger(__name__)

NAME = "digests"
SYNC_JOB = "digests:sync"
SYNC_EVERY = timedelta(minutes=5)


def job_id(chat_id: int) -> str:
    return f"digest:{chat_id}"


class DigestScheduler:
    name = NAME

    def __init__(self, sync_every: timedelta = SYNC_EVERY) -> None:
        self.sync_every = sync_every
        self.rt: Runtime | None = None
        self._plans: dict[int, Plan] = {}          # chat id -> the plan its job runs
        self._waiting: dict[int, list[asyncio.Future[bool]]] = {}    # the next batch
        self._batches: asyncio.Task[None] | None = None
        self._building = asyncio.Lock()            # one build at a time (CPU and database)
        self._cache = DigestCache()
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> bool:
        return self.rt is not None

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
        # Forget the runtime first: a job that fires while we wait below skips its work.
        rt, self.rt = self.rt, None
        if rt is None:
            return
        if rt.scheduler.running:
            for jid in [SYNC_JOB, *(job_id(c) for c in self._plans)]:
                with contextlib.suppress(Exception):
                    rt.scheduler.remove_job(jid)
        while tasks := [t for t in (*self._running, self._batches) if t and not t.done()]:
            await stop_tasks(tasks)             # a job may start another meanwhile
        self._plans.clear()
        self._waiting.clear()

    async def _job(self, work: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Runs a scheduled job's work, so that stop() can wait for it to end."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            if self.rt is not None:
                await work(*args)
        except asyncio.CancelledError:
            if self.rt is not None:
                raise
            # stop() cancelled it: an orderly end, not a failed job for APScheduler to log
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
        now = rt.now()                  # one moment for the whole pass: plans share work
        async for chat in stream_chat_schedules(rt.db):
            seen.add(chat.chat_id)
            plan = self._wanted(chat)
            self._install(chat.chat_id, plan)
            if plan and due_to_send(plan, chat, now, rt.settings.digest_grace):
                missed.append(chat.chat_id)
        for chat_id in set(self._plans) - seen:
            self._install(chat_id, None)
        results = await asyncio.gather(*(self.deliver_due(c) for c in missed),
                                       return_exceptions=True)
        for chat_id, result in zip(missed, results, strict=True):
            if isinstance(result, BaseException):
                log.error("the missed digest of chat %s failed: %s", chat_id, failure(result))
                log_traceback(log, result)

    async def sync_chat(self, chat_id: int) -> None:
        """Rebuild one chat's job after its schedule or time zone changed."""
        chat = await get_chat_schedule(self._runtime().db, chat_id)
        self._install(chat_id, None if chat is None else self._wanted(chat))

    # ---- sending ----

    async def may_receive(self, chat: ChatSchedule) -> bool:
        """Whether the chat may get a scheduled digest now (see the module's notes)."""
        rt = self._runtime()
        who = chat.chat_id if chat.kind == "private" else await group_sponsor(rt.db, chat.chat_id)
        if who is None:
            return False
        return level_of(who, rt.settings, await grant_of(rt.db, who)) >= Access.MEMBER

    async def deliver_due(self, chat_id: int) -> bool:
        """Send the chat's digest for its latest due time, unless it was sent, is too
        old, or the chat may not have it. True if it was put in the outbox.

        Chats whose jobs fire together (everyone at 08:00 Moscow time) are handled as
        one batch, so that their digests share the work (see ``compose_many``)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(chat_id, []).append(future)
        if self._batches is None or self._batches.done():
            # Started on the loop's next turn: the other jobs of this moment join first.
            self._batches = asyncio.create_task(self._run_batches(), name="digest batches")
        return await future

    async def _run_batches(self) -> None:
        await asyncio.sleep(0)
        while self._waiting:
            waiting, self._waiting = self._waiting, {}
            error: Exception | None = None
            sent: dict[int, bool] = {}
            try:
                sent = await self._deliver_batch(list(waiting))
            except Exception as e:
                log.error("digests for %d chats failed: %s", len(waiting), failure(e))
                log_traceback(log, e)
                error = e
            for chat_id, futures in waiting.items():
                for f in futures:
                    if f.done():
                        continue
                    if error is not None:
                        f.set_exception(error)
                    else:
                        f.set_result(sent.get(chat_id, False))

    async def _deliver_batch(self, chat_ids: list[int]) -> dict[int, bool]:
        rt = self._runtime()
        now = rt.now()
        due: list[tuple[ChatSchedule, datetime, Period]] = []
        for chat_id in chat_ids:
            chat = await get_chat_schedule(rt.db, chat_id)
            if chat is None:
                continue
            when = due_to_send(self.plan_of(chat), chat, now, rt.settings.digest_grace)
            if when is not None and await self.may_receive(chat):
                due.append((chat, when, period_since(chat.schedule.period_end, when)))
        return await self._send(due)

    async def send_now(self, chat_id: int) -> bool:
        """``/digest now``: the period since the chat's previous digest, up to now."""
        rt = self._runtime()
        chat = await get_chat_schedule(rt.db, chat_id)
        if chat is None:
            return False
        end = rt.now().replace(microsecond=0)
        sent = await self._send([(chat, None, period_since(chat.schedule.period_end, end))])
        return sent.get(chat_id, False)

    async def _send(self, digests: Sequence[tuple[ChatSchedule, datetime | None, Period]]
                    ) -> dict[int, bool]:
        """Build the digests and put each in the outbox with its chat's new mark. A chat
        whose mark moved meanwhile (another digest went) gets nothing more: False."""
        rt = self._runtime()
        s = rt.settings
        async with self._building:
            composed = await compose_many(
                rt.db, [DigestRequest(c.chat_id, c.timezone or s.timezone, period)
                        for c, _, period in digests], cache=self._cache, now=rt.now())
        sent = {}
        for chat, due, period in digests:
            sent[chat.chat_id] = await enqueue_digest(
                rt.db, chat.chat_id, due=due, period=period,
                expected_end=chat.schedule.period_end, composed=composed[chat.chat_id],
                now=rt.now())
            if sent[chat.chat_id]:
                log.info("digest for chat %s (%s to %s) queued", chat.chat_id,
                         period.start, period.end)
        if any(sent.values()):
            rt.outbox_changed.notify()
        return sent
