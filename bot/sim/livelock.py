"""Livelock detection for the virtual clock.

The virtual clock moves only when the loop is idle, so code that keeps the loop busy
while it waits for a moment in virtual time (or loops without awaiting anything) stops
time for good and spins at 100% CPU. Two shapes, two watches:

* callbacks keep running but the clock does not move (tasks handing the loop to each
  other): :class:`ProgressWatch`, asked by the loop at every ``select``. Only the loop's
  own running time counts: waiting for work on other threads (the database, executor
  jobs) is the stall limit's business, and heavy work there is no livelock;
* one callback never returns (a synchronous loop): :class:`BlockWatch`, a thread that
  sees the loop stuck between two ``select`` calls and raises inside it.

Either ends the run with a report of what was running: the tasks and their stacks.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

LIMIT = 10.0                 # real seconds of running callbacks without the clock moving
PROGRESS_NS = 1_000_000      # the clock moving by less than 1 ms is not progress
_SAMPLE_EVERY = 0.05         # real seconds between looks at what is ready to run
_STACK_DEPTH = 12
_SHOWN = 6                   # kinds of work shown with their stacks


class ProgressWatch:
    """Told the clock and what is about to run at every ``select``; returns a report
    once the clock has not moved for ``limit`` real seconds (None: never)."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.longest = 0.0                 # real seconds, the longest stretch seen
        self._mark_ns = 0
        self._mark_real = time.monotonic()
        self._waited = 0.0                 # real seconds in select since the mark
        self._next_sample = 0.0
        self._samples = 0
        self._seen: Counter[str] = Counter()            # kind of work -> looks
        self._example: dict[str, Any] = {}
        self._instances: dict[str, dict[int, str]] = {}    # kind -> id -> name

    def check(self, now_ns: int, ready: Iterable[asyncio.Handle],
              waited: float = 0.0) -> str | None:
        """``waited``: real seconds this ``select`` spent waiting (not running)."""
        real = time.monotonic()
        if now_ns - self._mark_ns >= PROGRESS_NS:
            self._mark_ns, self._mark_real, self._waited = now_ns, real, 0.0
            if self._samples:
                self._forget()
            return None
        self._waited += waited
        stuck = real - self._mark_real - self._waited
        self.longest = max(self.longest, stuck)
        if self.limit is None or stuck < self.limit / 2:
            return None
        if real >= self._next_sample:       # the second half: note what keeps running
            self._next_sample = real + _SAMPLE_EVERY
            self._samples += 1
            kinds = set()
            for handle in list(ready):
                what = _runner_of(handle)
                key = _kind(what)
                kinds.add(key)
                self._example.setdefault(key, what)
                self._instances.setdefault(key, {})[id(what)] = _short_name(what)
            self._seen.update(kinds)
        if stuck < self.limit:
            return None
        lines = [f"the simulation is livelocked: virtual time has stood at "
                 f"{datetime.now(UTC).isoformat()} while the loop kept running for "
                 f"{stuck:.1f} real seconds (something waits for a moment the clock cannot "
                 f"reach while keeping the loop busy). Running:"]
        for key, looks in self._seen.most_common(_SHOWN):
            example = self._example[key]
            more = [n for i, n in self._instances[key].items() if i != id(example)]
            lines.append(f"- {_name(example)}"
                         + (f" and {len(more)} more like it ({', '.join(more[:3])}"
                            f"{', …' if len(more) > 3 else ''})" if more else "")
                         + f": ready to run in {looks} of {self._samples} looks")
            lines += _stack_lines(self._example[key])
        lines += _others({i for seen in self._instances.values() for i in seen})
        self._forget()
        self._mark_real, self._waited = real, 0.0     # if the clean-up spins too, again later
        return "\n".join(lines)

    def restart(self) -> None:
        """Count from now: time while the loop is not running is nobody's fault."""
        self._mark_real, self._waited = time.monotonic(), 0.0
        self._forget()

    def _forget(self) -> None:
        self._samples = 0
        self._seen.clear()
        self._example.clear()
        self._instances.clear()


class BlockWatch:
    """A thread that raises :class:`LoopBlocked` in the loop's thread once one callback
    has run for ``limit`` real seconds; the report is then in :attr:`report`."""

    def __init__(self, limit: float, loop_thread: int,
                 in_callback_since: Callable[[], float | None]) -> None:
        self.limit = limit
        self.report: str | None = None
        self._thread_id = loop_thread
        self._since = in_callback_since
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sim-block-watch",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(min(0.25, self.limit / 4)):
            since = self._since()
            if since is None or time.monotonic() - since < self.limit:
                continue
            frame = sys._current_frames().get(self._thread_id)
            if self._since() != since:       # it has just returned after all
                continue
            self.report = (
                f"the simulation is stuck: one callback has run for {self.limit:.1f} real "
                f"seconds without returning to the event loop (a loop that never awaits):\n"
                + _format_frames(_frames_of(frame), depth=40))
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(LoopBlocked))
            return


class LoopBlocked(SystemExit):
    """Raised inside a callback that never returns. A ``SystemExit`` because asyncio
    lets only that and ``KeyboardInterrupt`` out of a callback; turned into a
    :class:`~bot.sim.vclock.SimulationLivelock` by ``run_simulated``."""


def _others(shown: set[int]) -> list[str]:
    try:
        tasks = asyncio.all_tasks(asyncio.get_running_loop())
    except RuntimeError:
        return []
    names = Counter(_name(t) for t in tasks if id(t) not in shown)
    if not names:
        return []
    return [f"other tasks ({sum(names.values())}):"] + [
        f"- {name}" + (f" (x{n})" if n > 1 else "") for name, n in sorted(names.items())]


def _stack_lines(what: Any) -> list[str]:
    stack = what.get_stack(limit=_STACK_DEPTH) if isinstance(what, asyncio.Task) else []
    return [_format_frames(stack)] if stack else []


def _kind(what: Any) -> str:
    """Work of one kind: the same coroutine at the same line, or the same function."""
    if isinstance(what, asyncio.Task):
        stack = what.get_stack(limit=1)
        where = f"{stack[0].f_code.co_filename}:{stack[0].f_lineno}" if stack else ""
        return f"{_name(what, named=False)}@{where}"
    callback = getattr(what, "_callback", None)
    return getattr(callback, "__qualname__", repr(callback))


def _runner_of(handle: asyncio.Handle) -> Any:
    """The task a ready handle steps, or the handle itself for a plain callback."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    return owner if isinstance(owner, asyncio.Task) else handle


def _short_name(what: Any) -> str:
    return repr(what.get_name()) if isinstance(what, asyncio.Task) else "a callback"


def _name(what: Any, named: bool = True) -> str:
    if isinstance(what, asyncio.Task):
        coro = what.get_coro()
        where = getattr(coro, "__qualname__", type(coro).__name__)
        return f"task {what.get_name()!r} running {where}" if named else f"task {where}"
    return f"callback {what!r}"[:200]


def _frames_of(frame: FrameType | None) -> list[FrameType]:
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def _format_frames(frames: list[FrameType], depth: int = _STACK_DEPTH) -> str:
    summary = traceback.StackSummary.extract(
        ((f, f.f_lineno) for f in frames[-depth:]), capture_locals=False)
    return "".join("    " + line.replace("\n", "\n    ").rstrip(" ")
                   for line in summary.format()).rstrip()
