"""Background tasks: a component's loop of rounds, and stopping tasks (cancel them and
wait until each has ended)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.failures import failure, log_traceback


async def run_rounds(one_round: Callable[[], Awaitable[float | None]],
                     woken: Callable[[], Awaitable[Any]], *, what: str, retry: float,
                     log: logging.Logger) -> None:
    """Run ``one_round`` until cancelled. After each round, wait as long as it returns
    (0: go on at once; None: until woken) or until ``woken()`` returns; a round that
    fails is logged as ``what`` and tried again after ``retry`` seconds."""
    while True:
        try:
            wait = await one_round()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.error("%s round failed: %s; retrying in %g s", what, failure(e), retry)
            log_traceback(log, e)
            wait = retry
        if wait is None or wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken(), wait)


async def stop_tasks(tasks: Iterable[asyncio.Future[Any] | None]) -> None:
    """Cancel ``tasks`` (None, finished ones and the calling task itself are left out)
    and wait for them to end. How each ended (cancelled, or an error a task kept to
    itself) is theirs: nothing is raised here, unless the caller is cancelled."""
    me = asyncio.current_task()
    running = [t for t in tasks if t is not None and t is not me and not t.done()]
    for task in running:
        task.cancel()
    if running:
        await asyncio.gather(*running, return_exceptions=True)
