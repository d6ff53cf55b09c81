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
from typing import Any

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


async def connect_afresh(client: Any) -> None:
    """``client.connect()`` for a Telethon client that gave up on its connection.

    Telethon 1.45 reloads its update state from the session on connect
    (``MessageBox.load``) but keeps the set of entries it was getting a difference
    for. The secret (qts) entry can be among them (a difference with qts 0 adds it;
    a session with qts 0 does not bring it back), and then the next difference, if
    empty, fails in Telethon's update loop ("Called reset_deadline on an entry for
    which we do not have state") and the client stops for good. Forgetting the
    differences in progress is safe: the loop asks afresh from the reloaded state."""
    box = getattr(client, "_message_box", None)
    if box is not None:
        box.getting_diff_for.clear()
        box.possible_gaps.clear()
    await client.connect()


class _GivingUpIsAWarning(logging.Filter):
    """Telethon logs its sender's giving up ("Automatic reconnection failed N time(s)")
    at ERROR; tgmon handles exactly that (:func:`keep_trying`, with its own warning),
    so the line is a warning: ERROR stays for what nobody handles."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and \
                str(record.msg).startswith("Automatic reconnection failed"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def handled_by_tgmon(base_logger: str) -> None:
    """Install that on the sender's logger of a client made with ``base_logger``."""
    logger = logging.getLogger(f"{base_logger}.network.mtprotosender")
    if not any(isinstance(f, _GivingUpIsAWarning) for f in logger.filters):
        logger.addFilter(_GivingUpIsAWarning())


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
