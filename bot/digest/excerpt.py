"""One-line excerpts of post text and word-level summaries of what an edit changed."""

from __future__ import annotations

import difflib
import re
import unicodedata

from bot.digest.model import TextChange

ELLIPSIS = "…"
# Any run of whitespace (newlines, tabs, no-break spaces, line separators) becomes one space.
_SPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """The text on one line: control and format characters out, whitespace collapsed."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " "
                      for ch in text)
    return _SPACE.sub(" ", cleaned).strip()


def shorten(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters, cut on a word boundary with an
    ellipsis when it is longer (a single overlong word is cut mid-word)."""
    line = one_line(text)
    if len(line) <= width:
        return line
    if width <= 1:
        return ELLIPSIS[:width]
    cut = line[:width - 1]
    if line[width - 1] != " ":                  # the cut is inside a word: back off
        space = cut.rfind(" ")
        if space >= width // 2:
            cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + ELLIPSIS


def excerpt(text: str, width: int, media_kind: str | None = None) -> str:
    """What a one-line item shows of a post: its text, or its kind of media."""
    line = shorten(text, width)
    if line:
        return line
    return f"[{media_kind}]" if media_kind else "[no text]"


def word_changes(before: str, after: str, *, limit: int = 3,
                 width: int = 60) -> tuple[tuple[TextChange, ...], int]:
    """The first ``limit`` word-level changes from ``before`` to ``after`` (each side
    shortened to ``width``) and how many more there are."""
    a, b = one_line(before).split(" "), one_line(after).split(" ")
    a = [w for w in a if w]
    b = [w for w in b if w]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    changes = [TextChange(shorten(" ".join(a[i1:i2]), width), shorten(" ".join(b[j1:j2]), width))
               for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
    return tuple(changes[:limit]), max(0, len(changes) - limit)
