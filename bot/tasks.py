"""Stopping background tasks: cancel them and wait until each has ended."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


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
