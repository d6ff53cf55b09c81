"""Virtual time: an asyncio loop whose clock jumps to the next timer when nothing else
can happen, and a wall clock (``datetime.now()``, ``time.time()``) that moves with it.

When no callback is ready and no external work is pending, a normal loop sleeps in
``select`` until its next timer; this loop instead advances its clock to that timer at
once. External work is anything that finishes outside the loop's thread: futures of
``run_in_executor`` and whatever registered busy predicates report (the app's database,
whose work runs on aiosqlite's own thread). While any is busy the loop waits in real
time, in short steps, without moving its clock: the work takes no virtual time.

Everything that reads time then agrees: asyncio timers and ``loop.time()`` (Telethon's
gap and no-update deadlines, ``asyncio.sleep``), and through time-machine the wall clock
(APScheduler's ``datetime.now``, Telethon's flood-wait bookkeeping, the simulated
server's rate limits). :func:`run_simulated` sets both up and undoes the patch on return.

A run that can no longer move ends with :class:`SimulationStalled` instead of hanging:
nothing left that could wake the loop, external work that never finishes, or (see
:mod:`.livelock`) a livelock, the loop busy while the clock stands still.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.sim import livelock
from config.errors import TgmonError

T = TypeVar("T")

_BUSY_STEP = 0.002       # real seconds between looks at busy external work
_STALL_LIMIT = 60.0      # real seconds without anything that could ever wake the loop


class SimulationStalled(TgmonError, RuntimeError):
    """The simulation cannot move on: it would sleep or spin for ever."""


class SimulationLivelock(SimulationStalled):
    """The loop kept running while virtual time stood still; the message names the
    tasks that were running, with their stacks."""


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time (seconds since the loop was created)."""

    def __init__(self, *, on_advance: Callable[[float], None] | None = None,
                 stall_limit: float = _STALL_LIMIT,
                 livelock_limit: float | None = livelock.LIMIT) -> None:
        super().__init__()
        self._now_ns = 0
        self.progress = livelock.ProgressWatch(livelock_limit)
        self.in_callback_since: float | None = None     # real time; None: in select
        self._on_advance = on_advance
        self._stall_limit = stall_limit
        self._busy: list[Callable[[], bool]] = []
        self._executor_futures: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
        selector: selectors.BaseSelector = getattr(self, "_selector")  # noqa: B009
        self._real_select = selector.select
        selector.select = self._select  # type: ignore[method-assign,assignment]

    # ---- the clock ----

    def time(self) -> float:
        return self._now_ns / 1e9

    def add_busy(self, predicate: Callable[[], bool]) -> Callable[[], None]:
        """Register external work the clock must wait for; returns a remover."""
        self._busy.append(predicate)

        def remove() -> None:
            if predicate in self._busy:
                self._busy.remove(predicate)
        return remove

    def run_in_executor(  # type: ignore[override]
            self, executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:
        future = super().run_in_executor(executor, func, *args)
        self._executor_futures.add(future)
        return future

    def external_busy(self) -> bool:
        return (any(not f.done() for f in self._executor_futures)
                or any(predicate() for predicate in self._busy))

    def _advance(self, seconds: float) -> None:
        self._step(max(1, math.ceil(seconds * 1e9)))

    def _step(self, ns: int) -> None:
        self._now_ns += ns
        if self._on_advance is not None:
            self._on_advance(ns / 1e9)

    def _reach_due_timers(self) -> None:
        """Move the clock up to every timer asyncio is about to run.

        asyncio runs a timer once the clock is within ``clock_resolution`` (1 ns) of it,
        so a timer can run while ``time()`` still reads just before its deadline. A real
        clock moves on by itself; this one moves only when the loop is idle. Code that
        then compares ``time() >= deadline`` (Telethon's MessageBox) would find it not
        yet met and wait again for that last nanosecond, and two such waiters (the user
        and the bot client) keep the loop from ever being idle: the clock would never
        reach the deadline. So the clock is put at the latest such timer first.
        """
        scheduled: list[asyncio.TimerHandle] = getattr(self, "_scheduled")  # noqa: B009
        if not scheduled:
            return
        now = self.time()
        end = now + getattr(self, "_clock_resolution")  # noqa: B009
        if not now < scheduled[0].when() < end:
            return
        latest = max(h.when() for h in scheduled if h.when() < end)
        ns = math.ceil(latest * 1e9)
        while ns / 1e9 < latest:
            ns += 1
        self._step(ns - self._now_ns)

    def run_forever(self) -> None:
        self.progress.restart()
        try:
            super().run_forever()
        finally:
            self.in_callback_since = None

    def _select(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        entered = time.monotonic()
        self.in_callback_since = None
        ready = self._select_and_advance(timeout)
        self._reach_due_timers()
        report = self.progress.check(self._now_ns, getattr(self, "_ready"),  # noqa: B009
                                     waited=time.monotonic() - entered)
        if report is not None:
            raise SimulationLivelock(report)
        self.in_callback_since = time.monotonic()
        return ready

    def _select_and_advance(
            self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real_select(0)
        if ready or timeout == 0:
            return ready
        waited = 0.0
        while self.external_busy():
            ready = self._real_select(_BUSY_STEP)
            if ready:
                return ready
            waited += _BUSY_STEP
            if waited > self._stall_limit:
                raise SimulationStalled(
                    f"external work has been busy for {self._stall_limit:.0f} real seconds")
        if timeout is None:
            # No timer at all: only another thread could still wake the loop.
            ready = self._real_select(self._stall_limit)
            if not ready:
                raise SimulationStalled(
                    "nothing is scheduled and nothing is running: the simulation would "
                    "wait forever")
            return ready
        self._advance(timeout)
        return []


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def sleep_until(moment: datetime) -> None:
    """Sleep until the (virtual) wall clock reads ``moment``."""
    delay = (_aware(moment) - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def run_simulated(main: Callable[[], Awaitable[T]], *, start: datetime,
                  busy: Iterable[Callable[[], bool]] = (),
                  stall_limit: float = _STALL_LIMIT,
                  livelock_limit: float | None = livelock.LIMIT) -> T:
    """Run ``main()`` on a :class:`VirtualTimeLoop` with the wall clock at ``start``.

    ``datetime.now()``/``time.time()`` read ``start`` plus the virtual time elapsed for
    the duration of the call, and are restored when it returns or raises.
    ``livelock_limit``: real seconds of work without virtual time moving before the run
    fails with :class:`SimulationLivelock` (None: never, for benchmarks that pour work
    through the simulation faster than time moves).
    """
    import time_machine

    travel = time_machine.travel(_aware(start).timestamp(), tick=False)
    traveller = travel.start()
    block: livelock.BlockWatch | None = None
    try:
        def make_loop() -> VirtualTimeLoop:
            return VirtualTimeLoop(on_advance=traveller.shift, stall_limit=stall_limit,
                                   livelock_limit=livelock_limit)

        with asyncio.Runner(loop_factory=make_loop) as runner:
            loop = runner.get_loop()
            assert isinstance(loop, VirtualTimeLoop)
            for predicate in busy:
                loop.add_busy(predicate)
            if livelock_limit is not None:
                block = livelock.BlockWatch(livelock_limit, threading.get_ident(),
                                            lambda: loop.in_callback_since)
                block.start()
            return runner.run(_as_coroutine(main))
    except livelock.LoopBlocked:
        assert block is not None
        raise SimulationLivelock(block.report or "a callback never returned") from None
    finally:
        if block is not None:
            block.stop()
        travel.stop()


async def _as_coroutine(main: Callable[[], Awaitable[T]]) -> T:
    return await main()
