"""The rules section's input: what each of a subscriber's rules matched in the period.

The digest does not evaluate rules. Whoever schedules digests streams the period's
posts (``storage.digest_queries.stream_period_posts``), asks each rule whether it
matches, and tallies the matches here; only a count and the top few posts per rule are
kept, so memory does not grow with the period.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from storage.models import StoredPost

TOP_MATCHES = 3


@dataclass(frozen=True)
class RuleMatches:
    label: str                          # the rule as the subscriber wrote it
    matches: int
    top: tuple[StoredPost, ...]         # the most viewed matches, best first


def _rank(sp: StoredPost) -> tuple[int, float, int, int]:
    """Larger is better: more views, then the earlier post (a stable tie-break)."""
    p = sp.post
    return (p.views if p.views is not None else -1, -p.date.timestamp(),
            -p.channel_id, -p.message_id)


class RuleTally:
    """Counts matches per rule and keeps the top ``top`` of each, in bounded memory."""

    def __init__(self, labels: Sequence[str], top: int = TOP_MATCHES) -> None:
        self.labels = tuple(labels)
        self.top = top
        self._counts = [0] * len(self.labels)
        # Entries are (rank, arrival number, post): the number keeps equal ranks (the
        # same post matched twice) from comparing posts.
        self._heaps: list[list[tuple[tuple[int, float, int, int], int, StoredPost]]] = [
            [] for _ in self.labels]
        self._arrivals = 0

    def add(self, rule: int, post: StoredPost) -> None:
        """Record that rule number ``rule`` (its index in ``labels``) matched ``post``."""
        self._counts[rule] += 1
        if self.top <= 0:
            return
        heap = self._heaps[rule]
        self._arrivals += 1
        entry = (_rank(post), -self._arrivals, post)
        if len(heap) < self.top:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)

    def result(self) -> tuple[RuleMatches, ...]:
        return tuple(
            RuleMatches(label, count, tuple(e[2] for e in sorted(heap, key=lambda e: e[:2],
                                                                  reverse=True)))
            for label, count, heap in zip(self.labels, self._counts, self._heaps, strict=True))


