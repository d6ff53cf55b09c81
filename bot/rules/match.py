"""What a matching rule reports: where in the text, and why."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol

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


class Explains(Protocol):
    """A compiled rule's root: appends the hits of its terms that hold."""

    def collect(self, keys: AbstractSet[str], post: Any, out: list[Hit]) -> None: ...


class Match:
    """A rule matched a post.

    Deciding that a rule matches is cheap; finding what to show is not, and an alert
    shows it once per subscriber however many rules match. So ``hits``, ``spans`` and
    ``reason`` are worked out on first use (from the same immutable inputs, so always
    the same).

    ``spans`` are the words that made the rule match, sorted and merged, as
    ``(start, end)`` Python string indices into the post text (code points, not
    Telegram's UTF-16 units): ``text[start:end]`` is a matched word. An alert escapes
    the text and wraps each span in ``<b>``.
    """

    __slots__ = ("_hits", "_keys", "_post", "_root", "_spans")
    _hits: tuple[Hit, ...]
    _spans: tuple[Span, ...]

    def __init__(self, root: Explains, keys: AbstractSet[str], post: Any) -> None:
        # _hits and _spans are set when first worked out (a post matches dozens of
        # rules; most matches are never explained).
        self._root: Explains | None = root
        self._keys = keys
        self._post = post

    @property
    def hits(self) -> tuple[Hit, ...]:
        """The terms of the rule that hold for the post, in rule order."""
        if self._root is not None:
            found: list[Hit] = []
            self._root.collect(self._keys, self._post, found)
            self._hits = tuple(found)
            self._spans = merge_spans(s for h in self._hits for s in h.spans)
            self._root = None
        return self._hits

    @property
    def spans(self) -> tuple[Span, ...]:
        self.hits  # noqa: B018 - works them out
        return self._spans

    @property
    def reason(self) -> str:
        """One line for people: ``Курск (Курской, Курске); from:rybar``."""
        return "; ".join(h.describe() for h in self.hits)

    def __repr__(self) -> str:
        return f"Match(spans={self.spans!r}, reason={self.reason!r})"


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
