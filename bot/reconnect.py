"""Keeping ``tgmon run`` going while Telegram cannot be reached.

Telethon retries a broken connection by itself (``connection_retries`` times,
``retry_delay`` apart) and then gives up: its client's ``disconnected`` ends with a
ConnectionError and ``connect()`` raises one. tgmon then says so once, in one clear
warning, and connects again with a backoff that doubles up to five minutes, saying
again only every so often how long it has been; when Telegram answers again, it says
so and the watcher catches up. Telethon's own lines about each failed attempt are
bounded by the same backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

# What a client raises when the network (or a proxy in between) breaks its connection.
UNREACHABLE = (ConnectionError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Backoff:
    first: float = 5.0             # seconds before the first retry
    factor: float = 2.0
    cap: float = 300.0             # never longer than this between attempts
    report_every: float = 1800.0   # while it lasts, a reminder at most this often

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)


def unreachable(error: BaseException | None) -> bool:
    return isinstance(error, UNREACHABLE)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


async def keep_trying(connect: Callable[[], Awaitable[object]], what: str,
                      stopping: asyncio.Event, backoff: Backoff = Backoff(),
                      first_error: BaseException | None = None) -> bool:
    """Call ``connect`` until it succeeds; between failures wait with ``backoff``.
    Returns False if ``stopping`` is set first. ``first_error``: the failure that
    brought us here (a client that gave up), reported like a failed attempt."""
    loop = asyncio.get_running_loop()
    began = reported = loop.time()
    delays = backoff.delays()
    attempts = 0
    error = first_error
    while not stopping.is_set():
        if error is None:
            try:
                await connect()
            except UNREACHABLE as e:
                error = e
            else:
                if attempts:
                    log.warning("Telegram is reachable again (%s) after %s and %d attempts; "
                                "catching up", what, _span(loop.time() - began), attempts)
                return True
        attempts += 1
        delay = next(delays)
        if attempts == 1:
            log.warning("cannot reach Telegram (%s: %s: %s); tgmon keeps running and tries "
                        "again in %s, then less often (at most every %s); check the network "
                        "or the proxy", what, type(error).__name__, error, _span(delay),
                        _span(backoff.cap))
        elif loop.time() - reported >= backoff.report_every:
            reported = loop.time()
            log.warning("still cannot reach Telegram (%s) after %s and %d attempts; trying "
                        "every %s", what, _span(loop.time() - began), attempts, _span(delay))
        error = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
    return False
