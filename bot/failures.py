"""How tgmon logs a failure: the exception's message and where it was raised on the
failure's own line, the traceback in a DEBUG record right after it.

``hide`` names texts that must not reach the log (the text of the post being handled):
they are replaced wherever the message or the traceback repeats them.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

MAX_MESSAGE = 300            # characters of an exception's message on the failure's line
_HIDDEN = "<post text>"
_ROOT = Path(__file__).resolve().parent.parent      # the project: bot/, storage/, config/


def failure(exc: BaseException, hide: Iterable[str | None] = ()) -> str:
    """``ValueError: zip() argument 2 is shorter than argument 1 (at
    bot/watcher/recheck.py:56)``: one line, the message capped at :data:`MAX_MESSAGE`;
    a library's frame is followed by the project's frame that called into it."""
    message = " ".join(_hidden(str(exc), hide).split())
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 1] + "…"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    place = where(exc)
    return f"{text} (at {place})" if place else text


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, as ``path:line``; if that is outside the project, also
    the last frame of the project on the way (``…, from bot/x.py:12``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    text = f"{_short(last.filename)}:{last.lineno}"
    if not _ours(last.filename):
        ours = next((f for f in reversed(frames) if _ours(f.filename)), None)
        if ours is not None:
            text += f", from {_short(ours.filename)}:{ours.lineno}"
    return text


def log_traceback(logger: logging.Logger, exc: BaseException,
                  hide: Iterable[str | None] = ()) -> None:
    """The traceback of a failure just logged, at DEBUG (formatted here, so the log's
    filters see it as text and secrets are scrubbed from it too)."""
    if logger.isEnabledFor(logging.DEBUG):
        text = "".join(traceback.format_exception(exc)).rstrip()
        logger.debug("traceback of the failure above:\n%s", _hidden(text, hide))


def _hidden(text: str, hide: Iterable[str | None]) -> str:
    for secret in hide:
        if not secret:
            continue
        for piece in [secret, *(line for line in secret.splitlines() if len(line) >= 8)]:
            text = text.replace(piece, _HIDDEN)
    return text


def _ours(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(_ROOT) and ".venv" not in path.parts \
        and "site-packages" not in path.parts


def _short(filename: str) -> str:
    """A path as short as still says which file: within the project, within
    site-packages, or within the standard library."""
    path = Path(filename)
    if "site-packages" in path.parts:
        return "/".join(path.parts[path.parts.index("site-packages") + 1:])
    if _ours(filename):
        return path.relative_to(_ROOT).as_posix()
    stdlib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return path.relative_to(stdlib).as_posix() if path.is_relative_to(stdlib) else filename
