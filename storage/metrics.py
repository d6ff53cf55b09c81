"""Engagement over time: samples of a post's counters (views, forwards, replies,
reactions) as tgmon reads them, kept in ``post_metrics`` (migration post_metrics).

A read adds a sample when the counters differ from the post's last sample and the post
has reached a later stage of its age (:data:`STAGES`) than that sample: at most one
sample per stage, so a post read every half hour for two days leaves about five rows,
read near 0 h, 1 h, 6 h, 24 h and 48 h after publication, instead of ~100. The re-check
reads posts again when they pass one of :data:`REREAD_AT` (:func:`due_ids`), also when
its window is shorter than 48 h.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from storage.db import Database
from storage.ids import IN_IDS, ids_json
from storage.models import Post
from storage.timefmt import to_db

HOUR = 3600
# Start of each stage of a post's age, in seconds since its publication.
STAGES: tuple[int, ...] = (0, HOUR, 6 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR,
                           30 * 24 * HOUR)
# Ages at which the re-check reads a post again (the samples researchers quote).
REREAD_AT: tuple[int, ...] = (HOUR, 6 * HOUR, 24 * HOUR, 48 * HOUR)
# How long after its last mark a post missed by the re-check is still read for it.
REREAD_GRACE = 6 * HOUR


def stage(age_seconds: float) -> int:
    """The index of the stage of :data:`STAGES` a post of that age is in."""
    n = 0
    for i, start in enumerate(STAGES):
        if age_seconds >= start:
            n = i
    return n


@dataclass(frozen=True)
class Counters:
    views: int | None
    forwards: int | None
    replies: int | None
    reactions: tuple[tuple[str, int], ...]      # (emoji, count), in Telegram's order

    @property
    def reactions_total(self) -> int | None:
        return sum(n for _, n in self.reactions) if self.reactions else None

    @property
    def empty(self) -> bool:
        return self.views is None and self.forwards is None and self.replies is None \
            and not self.reactions


def counters_of(post: Post) -> Counters:
    return Counters(post.views, post.forwards, post.replies,
                    tuple((r.emoji, r.count) for r in post.reactions))


def reactions_text(counters: Counters) -> str:
    return json.dumps(dict(counters.reactions), ensure_ascii=False, separators=(",", ":"))


def sample_due(date: datetime, now: datetime, counters: Counters,
               last_at: datetime | None, last: Counters | None) -> bool:
    """Whether a read at ``now`` adds a sample (pure): something was read, it differs
    from the last sample, and the post's age is in a later stage than at that sample."""
    if counters.empty:
        return False
    if last_at is None or last is None:
        return True
    if counters == last:
        return False
    return stage((now - date).total_seconds()) > stage((last_at - date).total_seconds())


_LAST_SAMPLES = (
    "SELECT p.id, p.channel_id, p.message_id, m.at, m.views, m.forwards, m.replies, "
    "  (SELECT r.reactions FROM post_metrics r WHERE r.post_id = p.id "
    "   AND r.reactions IS NOT NULL ORDER BY r.at DESC LIMIT 1) AS reactions "
    "FROM posts p LEFT JOIN post_metrics m ON m.post_id = p.id AND m.at = "
    "  (SELECT max(at) FROM post_metrics x WHERE x.post_id = p.id) "
    f"WHERE p.channel_id = ? AND p.message_id {IN_IDS}"
)


async def record_samples(conn: aiosqlite.Connection, posts: Sequence[Post],
                         now: datetime) -> int:
    """Add the samples the read of ``posts`` at ``now`` is due (inside the caller's
    transaction, after the posts are stored). Returns the number added."""
    by_channel: dict[int, dict[int, Post]] = {}
    for p in posts:
        if not counters_of(p).empty:
            by_channel.setdefault(p.channel_id, {})[p.message_id] = p
    at = int(now.timestamp())
    rows: list[tuple[Any, ...]] = []
    for channel_id, found in by_channel.items():
        async with conn.execute(_LAST_SAMPLES, (channel_id, ids_json(found))) as cur:
            stored = await cur.fetchall()
        for r in stored:
            post = found[r[2]]
            counters = counters_of(post)
            last = last_at = None
            if r[3] is not None:
                last_reactions = tuple(json.loads(r[7]).items()) if r[7] else ()
                last = Counters(r[4], r[5], r[6], last_reactions)
                last_at = datetime.fromtimestamp(r[3], now.tzinfo)
                if r[3] >= at:
                    continue                 # one sample per second and post
            if not sample_due(post.date, now, counters, last_at, last):
                continue
            # NULL: as in the sample before (none before the first)
            same = (last.reactions if last is not None else ()) == counters.reactions
            rows.append((r[0], at, counters.views, counters.forwards, counters.replies,
                         counters.reactions_total,
                         None if same else reactions_text(counters)))
    if rows:
        await conn.executemany(
            "INSERT OR IGNORE INTO post_metrics (post_id, at, views, forwards, replies, "
            "reactions_total, reactions) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


async def due_ids(db: Database, channel_id: int, now: datetime, window: timedelta,
                  limit: int = 5000) -> list[int]:
    """Ids of the channel's posts older than the re-check ``window`` that passed one of
    :data:`REREAD_AT` without a read since (``last_seen`` before the mark), for at most
    :data:`REREAD_GRACE` after it: the re-check reads them too."""
    oldest = now - timedelta(seconds=REREAD_AT[-1] + REREAD_GRACE)
    newest = now - window
    if newest <= oldest:
        return []
    # The latest mark each post has passed, by its age now.
    mark = "CASE " + " ".join(
        f"WHEN :now - unixepoch(date) >= {s} THEN {s}" for s in reversed(REREAD_AT)) \
        + " ELSE NULL END"
    rows = await db.fetchall(
        "SELECT message_id FROM posts WHERE channel_id = :cid AND date >= :oldest "
        "AND date < :newest AND deleted_at IS NULL "
        f"AND unixepoch(last_seen) < unixepoch(date) + ({mark}) "
        f"AND :now - unixepoch(date) - ({mark}) <= {REREAD_GRACE} "
        "ORDER BY message_id DESC LIMIT :limit",
        {"cid": channel_id, "oldest": to_db(oldest), "newest": to_db(newest),
         "now": int(now.timestamp()), "limit": limit})
    return [r[0] for r in rows]


async def samples_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM post_metrics")
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Growth:
    """How a post's views grew, from its samples: gained over the 24 h before a moment
    (when it was sampled before them), and its views soon after it turned 1 h old."""

    gained_24h: int | None = None
    at_1h: int | None = None


async def growth_of(db: Database, keys: Sequence[tuple[int, int]],
                    end: datetime) -> dict[tuple[int, int], Growth]:
    """:class:`Growth` of the posts ``(channel_id, message_id)`` at ``end``; posts
    without samples to tell are left out."""
    if not keys:
        return {}
    rows = await db.fetchall(
        "SELECT p.channel_id, p.message_id, p.views, "
        "  (SELECT m.views FROM post_metrics m WHERE m.post_id = p.id AND m.at <= :cut "
        "   ORDER BY m.at DESC LIMIT 1) AS before, "
        "  (SELECT m.views FROM post_metrics m WHERE m.post_id = p.id "
        "   AND m.at - unixepoch(p.date) BETWEEN 3600 AND 7200 ORDER BY m.at LIMIT 1) AS at_1h "
        "FROM json_each(:keys) k JOIN posts p "
        "ON p.channel_id = k.value ->> 0 AND p.message_id = k.value ->> 1",
        {"keys": json.dumps(sorted(set(keys))),
         "cut": int((end - timedelta(hours=24)).timestamp())})
    out = {}
    for r in rows:
        gained = r["views"] - r["before"] \
            if r["views"] is not None and r["before"] is not None else None
        if gained is not None or r["at_1h"] is not None:
            out[(r["channel_id"], r["message_id"])] = Growth(gained, r["at_1h"])
    return out
