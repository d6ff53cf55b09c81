"""What a matching rule reports: where in the text, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Span = tuple[int, int]   # [start, end) in Python string indices (code points) of the text


@dataclass(frozen=True)
class Hit:
    """One term of the rule that holds for the post, and what it found."""

    term: str                       # the term as the rule language writes it: Курск, #сводка
    spans: tuple[Span, ...] = ()    # where it was found (none for from:)
    found: tuple[str, ...] = ()     # the distinct text it found, in order of appearance

    def describe(self) -> str:
        shown = [f for f in self.found if f.lower() != self.term.lower()]
        if not shown:
            return self.term
        more = len(shown) - _SHOWN
        listed = ", ".join(shown[:_SHOWN]) + (f" +{more}" if more > 0 else "")
        return f"{self.term} ({listed})"


_SHOWN = 4


@dataclass(frozen=True)
class Match:
    """A rule matched a post.

    ``spans`` are the words that made it match, sorted and merged, as ``(start, end)``
    Python string indices into the post text (code points, not Telegram's UTF-16
    units): ``text[start:end]`` is the matched word. An alert escapes the text and
    wraps each span in ``<b>``.
    """

    spans: tuple[Span, ...]
    hits: tuple[Hit, ...]

    @property
    def reason(self) -> str:
        """One line for people: ``Курск (Курской, Курске); from:rybar``."""
        return "; ".join(h.describe() for h in self.hits)


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def make_hit(term: str, text: str, spans: list[Span]) -> Hit:
    found: dict[str, None] = {}
    for start, end in spans:
        found.setdefault(text[start:end])
    return Hit(term, tuple(spans), tuple(found))


def make_match(hits: list[Hit]) -> Match:
    return Match(merge_spans(s for h in hits for s in h.spans), tuple(hits))
