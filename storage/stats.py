"""Per-channel figures of the log: how much is stored, and which message ids are missing.

Channel message ids count up from 1 without gaps, so an id between the first and the
last one tgmon knows that is neither a stored post nor a noted absent id (service
message, deleted before capture) is a hole: a post never seen. Holes are summarised as
ranges, never listed one by one. The computation returns frozen records; formatting
lives with the command.

The figures are kept, not recomputed (migration 0012): triggers keep per-channel
counters in ``channel_stats`` and the runs of known message ids in ``id_runs`` as posts
and absent ids are written, so a channel's stats are a few indexed reads whatever the
size of the log. :func:`recount_channel_stats` computes the same from the posts
themselves (``tgmon stats --recount``; the tests compare the two).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import pairwise

from storage.channels import list_channels
from storage.db import Database
from storage.models import Channel
from storage.timefmt import from_db_opt


@dataclass(frozen=True, order=True)
class IdRange:
    """Message ids ``first`` to ``last``, both included."""

    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Holes:
    count: int = 0                          # ids never seen
    range_count: int = 0                    # runs of consecutive missing ids
    ranges: tuple[IdRange, ...] = ()        # the first few runs (at most `keep`)

    @property
    def more(self) -> int:
        return self.range_count - len(self.ranges)


@dataclass(frozen=True)
class ChannelStats:
    channel: Channel
    posts: int = 0                          # posts stored (deleted ones included)
    first_date: datetime | None = None      # earliest post date
    last_date: datetime | None = None
    first_message_id: int | None = None     # lowest id known (post or absent id)
    last_message_id: int | None = None      # highest id of a stored post
    edited: int = 0                         # posts Telegram marks as edited
    with_versions: int = 0                  # posts tgmon holds more than one version of
    deleted: int = 0                        # posts with a tombstone
    absent: int = 0                         # ids noted as not posts (explain holes)
    holes: Holes = Holes()


class HoleTally:
    """Counts runs of missing ids as they stream in, keeping only the first ``keep``."""

    def __init__(self, keep: int = 5) -> None:
        self._keep = keep
        self._count = 0
        self._runs = 0
        self._kept: list[IdRange] = []

    def add(self, r: IdRange) -> None:
        self._count += r.size
        self._runs += 1
        if len(self._kept) < self._keep:
            self._kept.append(r)

    def holes(self) -> Holes:
        return Holes(self._count, self._runs, tuple(self._kept))


# ---- kept figures (migration 0012) -------------------------------------------------

KNOWN, POSTS = 0, 1          # id_runs.kind: ids the log knows (posts and absent ids), posts

_KEPT_SQL = (
    "SELECT posts, first_date, last_date, high_id, low_id, edited, with_versions, deleted, "
    "absent, absent_low, posts + gone_deleted + gone_service + gone_empty AS known "
    "FROM channel_stats WHERE channel_id = ?")


def runs(conn: sqlite3.Connection, channel_id: int, kind: int, count: int,
         last: bool = False) -> list[IdRange]:
    """The first (or ``last``) ``count`` runs of ids of a kind, lowest ids first."""
    order = "DESC" if last else ""
    rows = conn.execute(
        f"SELECT lo, hi FROM id_runs WHERE channel_id = ? AND kind = ? ORDER BY lo {order} "
        "LIMIT ?", (channel_id, kind, count)).fetchall()
    found = [IdRange(r[0], r[1]) for r in rows]
    return found[::-1] if last else found


def run_count(conn: sqlite3.Connection, channel_id: int, kind: int) -> int:
    return int(conn.execute("SELECT count(*) FROM id_runs WHERE channel_id = ? AND kind = ?",
                            (channel_id, kind)).fetchone()[0])


def gaps(known: list[IdRange]) -> list[IdRange]:
    """The holes between consecutive runs of known ids."""
    return [IdRange(a.last + 1, b.first - 1) for a, b in pairwise(known)]


def holes_of(conn: sqlite3.Connection, channel_id: int, known_ids: int, keep: int,
             last: bool = False) -> tuple[Holes, list[IdRange]]:
    """The channel's holes (the first ``keep`` ranges), and the last ``keep`` when asked:
    counts from the runs' count and span, ranges from the first and last runs."""
    n_runs = run_count(conn, channel_id, KNOWN)
    if n_runs < 2:
        return Holes(), []
    first = runs(conn, channel_id, KNOWN, keep + 1)
    tail = runs(conn, channel_id, KNOWN, keep + 1 if last else 1, last=True)
    count = tail[-1].last - first[0].first + 1 - known_ids
    return (Holes(count, n_runs - 1, tuple(gaps(first)[:keep])),
            gaps(tail)[-keep:] if last and keep else [])


def kept_stats(conn: sqlite3.Connection, channel: Channel, keep: int = 5) -> ChannelStats:
    """A channel's stats from the kept counters and runs (on the database thread)."""
    cid = channel.channel_id
    row = conn.execute(_KEPT_SQL, (cid,)).fetchone()
    if row is None:            # a channel the log knows nothing of
        return ChannelStats(channel=channel)
    (posts, first, last, last_id, low_post, edited, versions, deleted, absent, absent_low,
     known) = row
    holes, _ = holes_of(conn, cid, known, keep)
    lows = [x for x in (low_post, absent_low) if x is not None]
    return ChannelStats(
        channel=channel, posts=posts, first_date=from_db_opt(first), last_date=from_db_opt(last),
        first_message_id=min(lows) if lows else None, last_message_id=last_id,
        edited=edited, with_versions=versions, deleted=deleted, absent=absent, holes=holes)


async def channel_stats(db: Database, channel: Channel, keep: int = 5) -> ChannelStats:
    return await db.run(partial(kept_stats, channel=channel, keep=keep))


async def log_stats(db: Database, channel_ids: Sequence[int] = (),
                    keep: int = 5) -> list[ChannelStats]:
    """Stats of every channel in the log (or of those given), by username: a few
    indexed reads per channel, all in one call on the database thread."""
    wanted = set(channel_ids)
    channels = [c for c in await list_channels(db) if not wanted or c.channel_id in wanted]
    return await db.run(lambda conn: [kept_stats(conn, c, keep) for c in channels])


# ---- the recount: the same figures from the posts themselves -----------------------

_SUMMARY_SQL = (
    "SELECT count(*), min(date), max(date), max(message_id), min(message_id), "
    "coalesce(sum(edit_date IS NOT NULL), 0), coalesce(sum(version > 1), 0), "
    "coalesce(sum(deleted_at IS NOT NULL), 0) FROM posts WHERE channel_id = ?"
)

_ABSENT_SQL = "SELECT count(*), min(message_id) FROM absent_messages WHERE channel_id = ?"

# Ids known to the log (posts and noted absent ids), sorted; each gap to the previous
# id is a hole. The window runs inside SQLite over the indexes, so a million ids never
# pass through Python; only the gaps come back, streamed.
HOLES_SQL = (
    "WITH known (id) AS ("
    " SELECT message_id FROM posts WHERE channel_id = ?1"
    " UNION SELECT message_id FROM absent_messages WHERE channel_id = ?1),"
    " steps AS (SELECT id, lag(id) OVER (ORDER BY id) AS prev FROM known)"
    " SELECT prev + 1, id - 1 FROM steps WHERE id - prev > 1 ORDER BY id"
)


async def recount_channel_stats(db: Database, channel: Channel, keep: int = 5) -> ChannelStats:
    """:func:`channel_stats` computed from every post and absent id of the channel."""
    cid = channel.channel_id
    row = await db.fetchone(_SUMMARY_SQL, (cid,))
    absent = await db.fetchone(_ABSENT_SQL, (cid,))
    assert row is not None and absent is not None
    posts, first, last, last_id, low_post, edited, versions, deleted = row
    lows = [x for x in (low_post, absent[1]) if x is not None]
    tally = HoleTally(keep)
    async for gap in db.stream(HOLES_SQL, (cid,)):
        tally.add(IdRange(gap[0], gap[1]))
    return ChannelStats(
        channel=channel, posts=posts, first_date=from_db_opt(first), last_date=from_db_opt(last),
        first_message_id=min(lows) if lows else None, last_message_id=last_id,
        edited=edited, with_versions=versions, deleted=deleted, absent=absent[0],
        holes=tally.holes())
