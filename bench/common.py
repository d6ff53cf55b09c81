"""What every benchmark reports: a figure, the baseline measured in the same run, the
ratio between them and the target it is judged against."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
def timed() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - start
