"""Per-channel figures of the log: how much is stored, and which message ids are missing.

Channel message ids count up from 1 without gaps, so an id between the first and the
last one tgmon knows that is neither a stored post nor a noted absent id (service
message, deleted before capture) is a hole: a post never seen. Holes are found in SQL
(a window over the sorted ids, streamed), and summarised as ranges, never listed one
by one. The computation returns frozen records; formatting lives with the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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


async def channel_stats(db: Database, channel: Channel, keep: int = 5) -> ChannelStats:
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


async def log_stats(db: Database, channel_ids: Sequence[int] = (),
                    keep: int = 5) -> list[ChannelStats]:
    """Stats of every channel in the log (or of those given), by username."""
    wanted = set(channel_ids)
    return [await channel_stats(db, c, keep) for c in await list_channels(db)
            if not wanted or c.channel_id in wanted]
