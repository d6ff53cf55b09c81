"""What an edit changed, word by word: the old and new text as one run of pieces, each
kept, removed or added (a pure function; the alert formats the pieces)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# Words, runs of spaces, runs of other characters: a diff never splits a word.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]+")
CONTEXT = 8           # tokens kept on each side of a change when unchanged text is cut


@dataclass(frozen=True)
class Piece:
    op: str           # "same", "removed", "added", "cut" (unchanged text left out)
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> list[Piece]:
    """The pieces that turn ``old`` into ``new``; ``same`` pieces joined are ``new``
    without its additions."""
    a, b = tokens(old), tokens(new)
    pieces: list[Piece] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            pieces.append(Piece("removed", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            pieces.append(Piece("added", "".join(b[j1:j2])))
    return _merge_whitespace(pieces)


def _merge_whitespace(pieces: list[Piece]) -> list[Piece]:
    """A change that only adds or removes spaces around a changed word reads better as
    part of it; unchanged whitespace-only pieces between two changes join them."""
    out: list[Piece] = []
    for p in pieces:
        if not p.text:
            continue
        if out and out[-1].op == p.op:
            out[-1] = Piece(p.op, out[-1].text + p.text)
        else:
            out.append(p)
    return out


def with_context(pieces: list[Piece], context: int = CONTEXT) -> list[Piece]:
    """Unchanged stretches cut down to ``context`` tokens next to each change (a ``cut``
    piece marks what was left out), so a one-word edit of a long post reads short."""
    out: list[Piece] = []
    last = len(pieces) - 1
    for i, p in enumerate(pieces):
        if p.op != "same":
            out.append(p)
            continue
        words = tokens(p.text)
        keep_head = context if i > 0 else 0          # after a change
        keep_tail = context if i < last else 0       # before a change
        if len(words) <= keep_head + keep_tail + 2:
            out.append(p)
            continue
        if keep_head:
            out.append(Piece("same", "".join(words[:keep_head])))
        out.append(Piece("cut", ""))
        if keep_tail:
            out.append(Piece("same", "".join(words[-keep_tail:])))
    return out
