"""What every benchmark reports: a figure, the baseline measured in the same run, the
ratio between them and the target it is judged against."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# /work/shared from the main checkout (parents[2]) and from a worktree under /work/wt.
SHARED = next((p / "shared" for p in Path(__file__).resolve().parents[2:]
               if (p / "shared" / "data").is_dir()),
              Path(__file__).resolve().parents[2] / "shared")
NEWS_POSTS = SHARED / "data" / "ru-news-posts-2024" / "posts.jsonl"


@dataclass(frozen=True)
class Figure:
    name: str              # what was measured
    value: float
    unit: str
    target: str            # the target, in words ("ratio >= 0.5", "< 1 s")
    ok: bool
    baseline: float | None = None   # the same-run baseline, in the same unit
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


class Stopwatch:
    def __init__(self) -> None:
        self.seconds = 0.0


@contextmanager
def timed(clock: Callable[[], float] = time.perf_counter) -> Iterator[Stopwatch]:
    """Seconds of wall time (or of ``clock``: ``time.process_time`` counts the CPU time
    of this process alone, what a machine busy with other work does not distort)."""
    watch = Stopwatch()
    start = clock()
    try:
        yield watch
    finally:
        watch.seconds = clock() - start


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM): ru_maxrss would carry over that
    of the benchmark process it was started from (Linux keeps it across exec)."""
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM"))
    return int(kb) / 1024
