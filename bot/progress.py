"""Progress bars for long commands (import, export, backfill): tqdm on standard error
while it is a terminal, and a silent bar otherwise (a file, a pipe, tests) or when the
caller asks for quiet. Notes written through a bar go to standard error either way,
above the bar when there is one."""

from __future__ import annotations

import sys
from typing import Any, Protocol


class ProgressBar(Protocol):
    def update(self, n: int) -> Any: ...

    def write(self, line: str) -> Any: ...

    def clear(self) -> Any: ...

    def close(self) -> Any: ...


class Silent:
    def update(self, n: int) -> None:
        pass

    def write(self, line: str) -> None:
        print(line, file=sys.stderr)

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


SILENT: ProgressBar = Silent()


class _Shown:
    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def update(self, n: int) -> None:
        self._bar.update(n)

    def write(self, line: str) -> None:
        self._bar.write(line, file=sys.stderr)

    def clear(self) -> None:
        self._bar.clear()

    def close(self) -> None:
        self._bar.close()


def progress_bar(total: int | None, what: str, unit: str, *, scale: bool = False,
                 leave: bool = False, quiet: bool = False) -> ProgressBar:
    """A bar of ``total`` ``unit`` (None: unknown) labelled ``what``; ``scale`` shows
    1.2M rather than 1234567; ``leave`` keeps it on screen when done."""
    if quiet or not sys.stderr.isatty():
        return SILENT
    from tqdm import tqdm

    return _Shown(tqdm(total=total, desc=what, unit=unit, unit_scale=scale,
                       file=sys.stderr, leave=leave))


def no_progress(what: str, total: int | None) -> ProgressBar:
    """A ``(what, total) -> bar`` factory for callers that want none."""
    return SILENT
