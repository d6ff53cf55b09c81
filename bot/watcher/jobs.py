"""The watcher's periodic jobs in the app's scheduler: per channel, a reconcile and a
re-check, staggered so the channels' requests do not all go out at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

RECONCILE = "reconcile"
RECHECK = "recheck"
KINDS = (RECONCILE, RECHECK)

Run = Callable[[int, str], Awaitable[None]]


def job_id(kind: str, channel_id: int) -> str:
    return f"watcher:{kind}:{channel_id}"


def stagger(index: int, count: int, interval: timedelta) -> timedelta:
    """The offset of the ``index``-th of ``count`` channels: spread over one interval."""
    return interval * (index / max(count, 1))


class ChannelJobs:
    def __init__(self, scheduler: AsyncIOScheduler, run: Run,
                 intervals: dict[str, timedelta]) -> None:
        self.scheduler = scheduler
        self.run = run
        self.intervals = intervals

    def add(self, channel_id: int, now: datetime, index: int = 0, count: int = 1) -> None:
        """Schedule both jobs of a channel; their first runs come one staggered interval
        from now (the catch-up right after start is run separately)."""
        from apscheduler.triggers.interval import IntervalTrigger

        for kind in KINDS:
            interval = self.intervals[kind]
            first = now + interval + stagger(index, count, interval)
            self.scheduler.add_job(
                self.run, IntervalTrigger(seconds=interval.total_seconds(), start_date=first),
                args=[channel_id, kind], id=job_id(kind, channel_id), replace_existing=True,
                max_instances=1, coalesce=True, misfire_grace_time=None)

    def postpone(self, channel_id: int, kind: str, when: datetime) -> None:
        """Run a job next at ``when`` (after a flood wait or a failure), then on its
        interval again."""
        job = self.scheduler.get_job(job_id(kind, channel_id))
        if job is not None:
            job.modify(next_run_time=when)

    def remove(self, channel_id: int) -> None:
        for kind in KINDS:
            job = self.scheduler.get_job(job_id(kind, channel_id))
            if job is not None:
                job.remove()
