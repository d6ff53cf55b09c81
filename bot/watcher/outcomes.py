"""What the result of a channel's reconcile or re-check changes: a failure sets the
channel's status, is journalled and reported once (log, admins) and postpones the job
with a growing backoff; a success after failures (or after a bad state left by an
earlier run) puts the channel back to ``ok`` and says so."""

from __future__ import annotations

import logging
from html import escape

from bot.failures import failure, log_traceback
from bot.runtime import Runtime
from bot.telegram.errors import Action, Failure
from bot.watcher.health import backoff, describe_wait
from bot.watcher.jobs import ChannelJobs
from bot.watcher.notify import name_of, notify_admins
from bot.watcher.state import WatchState
from storage.capture import add_event
from storage.watchlist import WatchEntry, find_entry, set_status

log = logging.getLogger(__name__)

# The states of bot.telegram.errors.UNREACHABLE a watched channel is marked with, and
# what people are told.
CHANNEL_STATES = {
    "private": "{name} is private now, or tgmon's account was removed from it",
    "gone": "Telegram no longer knows {name} (deleted?)",
}


def channel_state(failed: Failure, name: str) -> tuple[str, str] | None:
    """The status a failed read leaves a watched channel in, and why (for people);
    None for a failure that says nothing about the channel."""
    if failed.action is Action.DROP_CHAT and failed.state in CHANNEL_STATES:
        return failed.state, CHANNEL_STATES[failed.state].format(name=name)
    return None


async def record_failure(rt: Runtime, state: WatchState, jobs: ChannelJobs, entry: WatchEntry,
                         kind: str, error: str, status: str | None, detail: str | None,
                         exc: BaseException | None = None) -> None:
    """``error`` (the exception's class) goes to the journal and the admins; the log
    gets ``exc`` in full (:func:`bot.failures.failure`)."""
    assert entry.channel_id is not None
    cid = entry.channel_id
    health = state.health_of(cid)
    first = not health.failing
    health.failures[kind] = health.failures.get(kind, 0) + 1
    health.last_error = error
    retry = backoff(health.failures[kind], jobs.intervals[kind])
    jobs.postpone(cid, kind, rt.now() + retry)
    if status is not None and status != entry.status:
        await set_status(rt.db, entry.id, status, detail, rt.now())
        entry = state.live[cid] = await _refreshed(rt, entry)
    said = failure(exc) if exc is not None else error
    if not first:
        log.debug("%s of %s failed again: %s", kind, name_of(entry), said)
        return
    # A known state of the channel (private, gone) is the world's doing, reported to
    # the admins: a warning. An error is an exception nobody classified.
    log.log(logging.WARNING if status is not None else logging.ERROR,
            "%s of %s failed: %s; retrying in %s, the other channels go on", kind,
            name_of(entry), said, describe_wait(retry.total_seconds()))
    if exc is not None:
        log_traceback(log, exc)
    await add_event(rt.db, "error", cid, f"{kind}: {error}", rt.now(), entry.account)
    why = escape(detail or f"{kind} failed ({error})")
    await notify_admins(rt, f"watch-failing:{cid}:{rt.now().isoformat()}",
                        f"⚠️ Capture of <b>{escape(name_of(entry))}</b> is failing: {why}. "
                        "tgmon keeps retrying; the other channels are not affected.")


async def record_success(rt: Runtime, state: WatchState, entry: WatchEntry,
                         kind: str) -> None:
    assert entry.channel_id is not None
    cid = entry.channel_id
    health = state.health_of(cid)
    health.last_ok = rt.now()
    was_failing = health.failures.pop(kind, 0) > 0
    if health.failing:
        return                      # its other job still fails
    health.last_error = None
    if entry.status != "ok":        # also a state left by an earlier run
        await set_status(rt.db, entry.id, "ok", None, rt.now())
        state.live[cid] = await _refreshed(rt, entry)
    elif not was_failing:
        return
    log.info("capture of %s works again", name_of(entry))
    await add_event(rt.db, "recovered", cid, kind, rt.now(), entry.account)
    await notify_admins(rt, f"watch-recovered:{cid}:{rt.now().isoformat()}",
                        f"✅ Capture of <b>{escape(name_of(entry))}</b> works again.")


async def _refreshed(rt: Runtime, entry: WatchEntry) -> WatchEntry:
    return await find_entry(rt.db, str(entry.channel_id)) or entry
