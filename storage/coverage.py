"""Coverage of the log, per channel: which message ids tgmon captured, which holes are
explained (ids Telegram confirmed are not posts: deleted, service messages) and which
are not (posts tgmon never saw), when it last captured a post, and how posts came in.

Channel message ids count up from 1, every id used once, so between the lowest and the
highest id tgmon knows, each id is a stored post, a noted absent id or a hole.

:func:`channel_coverage` reads the counters and id runs that triggers keep (migration
0012): a few indexed reads per channel, however many posts it has.
:func:`recount_channel_coverage` computes the same from every id, streamed in order
through the pure :func:`coverage_of` (``tgmon stats --recount``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from storage.db import Database
from storage.stats import KNOWN, POSTS, IdRange, holes_of, run_count, runs
from storage.timefmt import from_db, from_db_opt

KEEP = 5                    # ranges kept per kind (the counts cover all)


@dataclass(frozen=True)
class Ranges:
    count: int = 0                          # ids
    runs: int = 0                           # runs of consecutive ids
    first: tuple[IdRange, ...] = ()         # the first few runs, lowest ids first
    last: tuple[IdRange, ...] = ()          # the last few runs

    def shown(self, keep: int = KEEP) -> str:
        """``1-140, 142-310`` (with ``…`` when runs are left out)."""
        if self.runs <= keep:
            return ", ".join(map(str, self.first))
        head = ", ".join(map(str, self.first[:max(1, keep - 2)]))
        tail = ", ".join(map(str, self.last[-2:]))
        return f"{head}, … ({self.runs - max(1, keep - 2) - 2} more), {tail}"


class _RangeTally:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.count = 0
        self.runs = 0
        self.first: list[IdRange] = []
        self.last: list[IdRange] = []
        self._open: IdRange | None = None

    def add(self, first: int, last: int) -> None:
        if self._open is not None and first == self._open.last + 1:
            self._open = IdRange(self._open.first, last)
            return
        self._close()
        self._open = IdRange(first, last)

    def _close(self) -> None:
        if self._open is None:
            return
        r, self._open = self._open, None
        self.count += r.size
        self.runs += 1
        if len(self.first) < self.keep:
            self.first.append(r)
        self.last = [*self.last, r][-self.keep:]

    def result(self) -> Ranges:
        self._close()
        return Ranges(self.count, self.runs, tuple(self.first), tuple(self.last))


@dataclass(frozen=True)
class ChannelCoverage:
    channel_id: int
    captured: Ranges = Ranges()              # ids stored as posts
    unexplained: Ranges = Ranges()           # holes: ids never seen
    explained: dict[str, int] = field(default_factory=dict)   # reason -> ids
    by_path: dict[str, int] = field(default_factory=dict)     # capture path -> posts
    first_id: int | None = None
    last_id: int | None = None
    last_capture: datetime | None = None     # when a post was last stored new

    @property
    def complete(self) -> bool:
        """No hole between the first and the last known id."""
        return self.unexplained.count == 0


class CoverageTally:
    """Builds a :class:`ChannelCoverage` from ``(message_id, kind, first_seen)`` given in
    increasing id order, one per id: kind is a post's capture path, or
    ``absent:<reason>`` for a noted absent id."""

    def __init__(self, channel_id: int, keep: int = KEEP) -> None:
        self.channel_id = channel_id
        self._captured, self._holes = _RangeTally(keep), _RangeTally(keep)
        self._explained: dict[str, int] = {}
        self._by_path: dict[str, int] = {}
        self._first: int | None = None
        self._prev: int | None = None
        self._last_seen: str | None = None

    def add(self, mid: int, kind: str, seen: str | None) -> None:
        if self._first is None:
            self._first = mid
        if self._prev is not None and mid > self._prev + 1:
            self._holes.add(self._prev + 1, mid - 1)
        self._prev = mid
        if kind.startswith("absent:"):
            reason = kind[len("absent:"):]
            self._explained[reason] = self._explained.get(reason, 0) + 1
            return
        self._captured.add(mid, mid)
        self._by_path[kind] = self._by_path.get(kind, 0) + 1
        if seen is not None and (self._last_seen is None or seen > self._last_seen):
            self._last_seen = seen

    def result(self) -> ChannelCoverage:
        return ChannelCoverage(
            self.channel_id, self._captured.result(), self._holes.result(),
            dict(sorted(self._explained.items())), dict(sorted(self._by_path.items())),
            self._first, self._prev, from_db(self._last_seen) if self._last_seen else None)


def coverage_of(channel_id: int, known: Iterable[tuple[int, str, str | None]],
                keep: int = KEEP) -> ChannelCoverage:
    tally = CoverageTally(channel_id, keep)
    for mid, kind, seen in known:
        tally.add(mid, kind, seen)
    return tally.result()


# Posts and noted absent ids of a channel, in id order; an absent id that later became
# a stored post counts as the post.
KNOWN_SQL = (
    "SELECT message_id, captured_via, first_seen FROM posts WHERE channel_id = ?1 "
    "UNION ALL "
    "SELECT a.message_id, 'absent:' || a.reason, NULL FROM absent_messages a "
    "WHERE a.channel_id = ?1 AND NOT EXISTS "
    "(SELECT 1 FROM posts p WHERE p.channel_id = ?1 AND p.message_id = a.message_id) "
    "ORDER BY 1"
)


_KEPT_SQL = (
    "SELECT posts, posts + gone_deleted + gone_service + gone_empty, gone_deleted, "
    "gone_service, gone_empty, via_live, via_catch_up, via_backfill, via_import, last_capture "
    "FROM channel_stats WHERE channel_id = ?")


def _positive(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted((k, n) for k, n in counts.items() if n))


def kept_coverage(conn: sqlite3.Connection, channel_id: int, keep: int = KEEP
                  ) -> ChannelCoverage:
    """A channel's coverage from the kept counters and id runs (on the database thread)."""
    row = conn.execute(_KEPT_SQL, (channel_id,)).fetchone()
    if row is None or not row[1]:
        return ChannelCoverage(channel_id)
    posts, known, deleted, service, empty, live, catch_up, backfill, imported, last = row
    holes, last_holes = holes_of(conn, channel_id, known, keep, last=True)
    first_known = runs(conn, channel_id, KNOWN, 1)
    last_known = runs(conn, channel_id, KNOWN, 1, last=True)
    captured = Ranges(posts, run_count(conn, channel_id, POSTS),
                      tuple(runs(conn, channel_id, POSTS, keep)),
                      tuple(runs(conn, channel_id, POSTS, keep, last=True))) \
        if posts else Ranges()
    return ChannelCoverage(
        channel_id, captured,
        Ranges(holes.count, holes.range_count, holes.ranges, tuple(last_holes)),
        _positive({"deleted": deleted, "service": service, "empty": empty}),
        _positive({"live": live, "catch-up": catch_up, "backfill": backfill,
                   "import": imported}),
        first_known[0].first, last_known[0].last, from_db_opt(last))


async def channel_coverage(db: Database, channel_id: int, keep: int = KEEP) -> ChannelCoverage:
    """A channel's coverage from the kept counters and id runs."""
    return await db.run(partial(kept_coverage, channel_id=channel_id, keep=keep))


async def log_coverage(db: Database, channel_ids: Sequence[int],
                       keep: int = KEEP) -> dict[int, ChannelCoverage]:
    """:func:`channel_coverage` of several channels in one call on the database thread."""
    return await db.run(lambda conn: {cid: kept_coverage(conn, cid, keep)
                                      for cid in channel_ids})


async def recount_channel_coverage(db: Database, channel_id: int,
                                   keep: int = KEEP) -> ChannelCoverage:
    """:func:`channel_coverage` computed from every id of the channel, in order."""
    tally = CoverageTally(channel_id, keep)
    async for row in db.stream(KNOWN_SQL, (channel_id,)):
        tally.add(row[0], row[1], row[2])
    return tally.result()


async def top_run_floor(db: Database, channel_id: int) -> int | None:
    """The lowest id of the unbroken run of known ids (posts and noted absent ids) that
    ends at the newest one: where reading older history continues. None if the channel
    has nothing stored."""
    top = await db.run(partial(runs, channel_id=channel_id, kind=KNOWN, count=1, last=True))
    return top[0].first if top else None
