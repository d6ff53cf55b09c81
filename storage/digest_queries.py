"""What a digest is built from: one period's raw material, gathered with plain SQL.

Volume is aggregated in SQLite (counts per channel and hour, each channel's top posts
with a top-N sort, percentiles of the pauses between posts with window functions);
Python only receives small, bounded results, so a day of 100,000 posts never reaches
Python row by row. Everything returned is a frozen record.

Times of the period are UTC; the start is inclusive and the end exclusive. Which time
decides that something happened in the period:

- a post: its Telegram ``date``;
- an edit: when tgmon saw the new version (``post_changes.at``), so consecutive digests
  neither miss an edit found late (catch-up after downtime) nor repeat one;
- a deletion: when tgmon learnt of it (``posts.deleted_at``), for the same reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.db import Database
from storage.ids import ids_json
from storage.metrics import Growth, growth_of
from storage.models import Channel, StoredPost
from storage.posts import POST_SELECT, stored_post_from_row
from storage.timefmt import from_db, from_db_opt, to_db

# Share of the gaps between consecutive posts that counts as "usual": the 95th
# percentile ignores the odd outage but keeps the nightly pause of a daytime channel.
USUAL_GAP_PERCENTILE = 95


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC (aware datetimes)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs aware datetimes")
        # Held in UTC whatever zone it was given in: hours and the log are UTC.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.start >= self.end:
            raise ValueError(f"a period must end after it starts: {self.start} >= {self.end}")


@dataclass(frozen=True)
class DigestLimits:
    """How much of a period the material keeps (the counts always cover everything)."""

    top_posts: int = 3            # per channel, by views and by forwards
    edits: int = 40               # edited posts listed (the most viewed first)
    deletions: int = 40           # deleted posts listed (the most viewed first)
    lookback: timedelta = timedelta(days=28)   # history that says what "usual" is

    def __post_init__(self) -> None:
        if min(self.top_posts, self.edits, self.deletions) < 0:
            raise ValueError("digest limits cannot be negative")


@dataclass(frozen=True)
class ChannelActivity:
    """A channel's posting in the period and before it."""

    channel: Channel
    posts: int                          # posts dated in the period (deleted ones included)
    last_post: datetime | None          # date of its latest post before the period's end
    last_message_id: int | None
    gaps: int                           # gaps between consecutive posts in the lookback
    usual_gap: timedelta | None         # their 95th percentile (None without gaps)


@dataclass(frozen=True)
class HourCount:
    channel_id: int
    hour: datetime                      # start of the UTC clock hour
    posts: int


@dataclass(frozen=True)
class TopPost:
    """A post among a channel's top by views and/or by forwards (1 = first). An album
    is one post: its first item, carrying the album's caption. In a channel none of whose
    posts of the period has a view count (imported from exports), the top posts are
    ranked by forwards, then replies, then reactions, and among posts without any of
    those, by time (``engagement_rank``)."""

    stored: StoredPost
    views_rank: int | None
    forwards_rank: int | None
    album_size: int = 1
    engagement_rank: int | None = None
    growth: Growth | None = None        # how its views grew (engagement samples)


@dataclass(frozen=True)
class EditedPost:
    """A post with one or more new versions seen in the period."""

    stored: StoredPost                  # the post as it is now
    before: str                         # text of the version before the period's first edit
    after: str                          # text of the last version seen in the period
    media_before: str | None
    media_after: str | None
    edits: int                          # new versions seen in the period
    last_seen: datetime                 # when tgmon saw the last of them


@dataclass(frozen=True)
class PeriodPhoto:
    """A photo post of the period whose picture is in the media archive, with its
    perceptual hash (the digest groups the same picture posted by several channels)."""

    channel_id: int
    message_id: int
    date: datetime
    phash: str


@dataclass(frozen=True)
class DeletedPost:
    stored: StoredPost                  # its archived (last known) text and media
    album_size: int = 1                 # a deleted album is listed once


@dataclass(frozen=True)
class DigestMaterial:
    period: Period
    limits: DigestLimits
    channels: tuple[ChannelActivity, ...]       # by channel id
    hourly: tuple[HourCount, ...]               # by channel id, then hour
    top_posts: tuple[TopPost, ...]              # by channel id, then message id
    edits: tuple[EditedPost, ...]               # the most viewed (at most limits.edits)
    edits_total: int
    deletions: tuple[DeletedPost, ...]          # the most viewed (at most limits.deletions)
    deletions_total: int
    most_commented: tuple[StoredPost, ...] = ()  # the most comments (limits.top_posts)
    photos: tuple[PeriodPhoto, ...] = ()        # by date: photos with a perceptual hash


# Every query below restricts posts to the chosen channels with this clause and the
# parameter from ids_json (storage.ids): one parameter whatever the number of channels.
_IN_CHANNELS = "channel_id IN (SELECT value FROM json_each(:channels))"


def _select_with(columns: str) -> str:
    """POST_SELECT with more columns (the caller adds joins, WHERE and ORDER BY)."""
    return POST_SELECT.replace(" FROM posts p", f", {columns} FROM posts p", 1)


# With the columns of a CTE ``t`` the caller joins.
_POST_SELECT_T = _select_with("t.*")


async def resolve_channels(db: Database, channel_ids: Sequence[int] | None) -> list[Channel]:
    """The channels a digest covers: those given (unknown ids are skipped) or all."""
    if channel_ids is None:
        rows = await db.fetchall("SELECT channel_id, username, title FROM channels "
                                 "ORDER BY channel_id")
    else:
        rows = await db.fetchall(
            f"SELECT channel_id, username, title FROM channels WHERE {_IN_CHANNELS} "
            "ORDER BY channel_id", {"channels": ids_json(channel_ids)})
    return [Channel(r["channel_id"], r["username"], r["title"]) for r in rows]


async def _hourly(db: Database, params: dict[str, Any]) -> list[HourCount]:
    # substr(date, 1, 13) is 'YYYY-MM-DDTHH': the UTC hour. The (channel_id, date) index
    # covers this query, so the table itself is not read.
    rows = await db.fetchall(
        "SELECT channel_id, substr(date, 1, 13) AS hour, count(*) AS n FROM posts "
        f"WHERE {_IN_CHANNELS} AND date >= :start AND date < :end "
        "GROUP BY channel_id, hour ORDER BY channel_id, hour", params)
    return [HourCount(r["channel_id"], from_db(r["hour"] + ":00:00Z"), r["n"]) for r in rows]


async def _last_posts(db: Database, params: dict[str, Any]) -> dict[int, tuple[str, int]]:
    rows = await db.fetchall(
        "SELECT c.channel_id, "
        "  (SELECT p.date || ' ' || p.message_id FROM posts p "
        "   WHERE p.channel_id = c.channel_id AND p.date < :end "
        "   ORDER BY p.date DESC, p.message_id DESC LIMIT 1) AS last "
        f"FROM channels c WHERE c.{_IN_CHANNELS}", params)
    out = {}
    for r in rows:
        if r["last"] is not None:
            date, mid = r["last"].split(" ")
            out[r["channel_id"]] = (date, int(mid))
    return out


async def _usual_gaps(db: Database, params: dict[str, Any]) -> dict[int, tuple[int, float]]:
    """``channel id -> (number of gaps, percentile gap in seconds)`` over the lookback
    (the weeks before the period's start). Nearest-rank percentile, integer arithmetic
    (whole seconds). Posts with the same date may come in any order: the gaps are the
    same, and the (channel_id, date) index covers the query."""
    rows = await db.fetchall(
        "WITH g AS ("
        "  SELECT channel_id, unixepoch(date) - lag(unixepoch(date)) OVER "
        "         (PARTITION BY channel_id ORDER BY date) AS gap "
        f"  FROM posts WHERE {_IN_CHANNELS} AND date >= :lookback AND date < :start"
        "), r AS ("
        "  SELECT channel_id, gap, "
        "         row_number() OVER (PARTITION BY channel_id ORDER BY gap) AS rn, "
        "         count(*) OVER (PARTITION BY channel_id) AS n "
        "  FROM g WHERE gap IS NOT NULL"
        ") SELECT channel_id, n, gap FROM r "
        "WHERE rn = max(1, (:pct * n + 99) / 100)", {**params, "pct": USUAL_GAP_PERCENTILE})
    return {r["channel_id"]: (r["n"], r["gap"]) for r in rows}


# Albums: every item of an album is a message, but the album is one post. Its first item
# stands for it, with the album's caption. Items of an album share their date, so the
# (channel_id, date) index finds an item's album mates (the unary + keeps SQLite from
# using the (channel_id, message_id) index, which would walk every earlier message).
_SAME_ALBUM = ("a.channel_id = p.channel_id AND a.date = p.date "
               "AND a.grouped_id = p.grouped_id")
_ALBUM_FIRST = (f"(p.grouped_id IS NULL OR NOT EXISTS (SELECT 1 FROM posts a "
                f"WHERE {_SAME_ALBUM} AND +a.message_id < p.message_id))")
_ALBUM_SIZE = (f"CASE WHEN p.grouped_id IS NULL THEN 1 ELSE (SELECT count(*) FROM posts a "
               f"WHERE {_SAME_ALBUM}) END AS album_size")
_ALBUM_CAPTION = (
    f"CASE WHEN p.grouped_id IS NULL OR p.text != '' THEN NULL ELSE (SELECT a.text FROM posts a "
    f"WHERE {_SAME_ALBUM} AND a.text != '' ORDER BY a.message_id LIMIT 1) END AS album_caption")


def _with_caption(row: sqlite3.Row) -> StoredPost:
    """The post of a row that has ``album_caption``: an album's first item carries the
    album's caption."""
    stored = stored_post_from_row(row)
    if row["album_caption"] is not None:
        stored = replace(stored, post=replace(stored.post, text=row["album_caption"]))
    return stored


def _top_by(metric: str, condition: str) -> str:
    # Per channel, a correlated subquery sorts that channel's posts of the period with a
    # top-N sorter (no window over every post, no wide rows). SQLite has no LATERAL, so
    # each channel's picks are packed as JSON and unpacked by json_each; the order inside
    # the array is not relied on (Python sorts).
    return (
        "SELECT c.value AS channel_id, j.value AS pick FROM json_each(:channels) c, "
        f"json_each((SELECT json_group_array(json_array(message_id, {metric})) FROM ("
        f"  SELECT p.message_id, p.{metric} FROM posts p "
        "  WHERE p.channel_id = c.value AND p.date >= :start AND p.date < :end "
        f"  AND {condition} AND {_ALBUM_FIRST} "
        f"  ORDER BY p.{metric} DESC, p.message_id LIMIT :top))) j")


# A channel whose posts of the period have no view count (Telegram Desktop exports
# carry none): its top posts by forwards, then replies, then reactions, then the earliest
# (so a channel without any counts shows its first posts of the period, in time order).
_REACTIONS = ("(SELECT coalesce(sum(json_extract(r.value, '$.count')), 0) "
              "FROM json_each(coalesce(p.reactions, '[]')) r)")
_TOP_WITHOUT_VIEWS = (
    "SELECT c.value AS channel_id, j.value AS pick FROM json_each(:channels) c, "
    "json_each((SELECT json_group_array(json_array(message_id, f, n, x, date)) FROM ("
    "  SELECT p.message_id, coalesce(p.forwards, 0) AS f, coalesce(p.replies, 0) AS n, "
    f"  {_REACTIONS} AS x, p.date FROM posts p "
    "  WHERE p.channel_id = c.value AND p.date >= :start AND p.date < :end "
    f"  AND {_ALBUM_FIRST} "
    "  ORDER BY f DESC, n DESC, x DESC, p.date, p.message_id LIMIT :top))) j "
    "WHERE NOT EXISTS (SELECT 1 FROM posts v WHERE v.channel_id = c.value "
    "  AND v.date >= :start AND v.date < :end AND v.views IS NOT NULL)")


async def _top_posts(db: Database, params: dict[str, Any]) -> list[TopPost]:
    """Each channel's top posts by views (among those with a view count) and by forwards
    (among those forwarded at least once); ties go to the earlier message. A channel
    without view counts in the period gets its top by engagement instead (see above)."""
    ranks: dict[tuple[int, int], dict[str, int]] = {}
    unviewed: dict[int, list[list[Any]]] = {}     # [message_id, forwards, replies, ...]
    for r in await db.fetchall(_TOP_WITHOUT_VIEWS, params):
        unviewed.setdefault(r["channel_id"], []).append(json.loads(r["pick"]))
    for channel_id, chosen in unviewed.items():
        chosen.sort(key=lambda f: (-f[1], -f[2], -f[3], f[4], f[0]))
        for place, pick in enumerate(chosen, start=1):
            ranks.setdefault((channel_id, pick[0]), {})["engagement"] = place
    for metric, condition in (("views", "p.views IS NOT NULL"), ("forwards", "p.forwards > 0")):
        picks: dict[int, list[tuple[int, int]]] = {}
        for r in await db.fetchall(_top_by(metric, condition), params):
            message_id, value = json.loads(r["pick"])
            picks.setdefault(r["channel_id"], []).append((message_id, value))
        for channel_id, found in picks.items():
            if channel_id in unviewed:
                continue                       # ranked by engagement above
            found.sort(key=lambda f: (-f[1], f[0]))
            for place, (message_id, _) in enumerate(found, start=1):
                ranks.setdefault((channel_id, message_id), {})[metric] = place
    if not ranks:
        return []
    rows = await db.fetchall(
        f"{_select_with(f'{_ALBUM_SIZE}, {_ALBUM_CAPTION}')} JOIN json_each(:keys) k "
        "ON p.channel_id = json_extract(k.value, '$[0]') "
        "AND p.message_id = json_extract(k.value, '$[1]') "
        "ORDER BY p.channel_id, p.message_id", {"keys": json.dumps(sorted(ranks))})
    out = []
    for r in rows:
        rank = ranks[(r["channel_id"], r["message_id"])]
        out.append(TopPost(_with_caption(r), rank.get("views"), rank.get("forwards"),
                           r["album_size"], rank.get("engagement")))
    return out


async def _most_commented(db: Database, params: dict[str, Any]) -> list[StoredPost]:
    """The period's posts with the most comments (Telegram's count), across channels."""
    rows = await db.fetchall(
        f"{POST_SELECT} WHERE p.{_IN_CHANNELS} AND p.date >= :start AND p.date < :end "
        "AND p.replies > 0 ORDER BY p.replies DESC, p.channel_id, p.message_id LIMIT :top",
        params)
    return [stored_post_from_row(r) for r in rows]


async def _edits(db: Database, params: dict[str, Any]) -> tuple[list[EditedPost], int]:
    # A range of post_changes_by_kind_at (migration 0008).
    rows = await db.fetchall(
        "WITH e AS ("
        "  SELECT post_id, min(version) AS first_v, max(version) AS last_v, "
        "         count(*) AS edits, max(at) AS last_at "
        "  FROM post_changes WHERE kind = 'edit' AND at >= :start AND at < :end "
        "  GROUP BY post_id"
        "), t AS ("
        "  SELECT e.*, old.text AS before_text, old.media_kind AS before_media, "
        "         coalesce(new.text, q.text) AS after_text, "
        "         iif(new.id IS NULL, q.media_kind, new.media_kind) AS after_media, "
        "         count(*) OVER () AS total "
        "  FROM e JOIN posts q ON q.id = e.post_id "
        # Earlier versions are stored rows; the latest may be the post itself (0011).
        "  JOIN stored_versions old ON old.post_id = e.post_id AND old.version = e.first_v - 1 "
        "  LEFT JOIN stored_versions new ON new.post_id = e.post_id AND new.version = e.last_v "
        f"  WHERE q.{_IN_CHANNELS} AND (new.id IS NOT NULL OR q.version = e.last_v) "
        "  ORDER BY coalesce(q.views, -1) DESC, q.channel_id, q.message_id LIMIT max(:edits, 1)"
        f") {_POST_SELECT_T} JOIN t ON t.post_id = p.id "
        "ORDER BY coalesce(p.views, -1) DESC, p.channel_id, p.message_id", params)
    # One row is always read so the total is known even with a limit of 0.
    total = rows[0]["total"] if rows else 0
    return [EditedPost(stored_post_from_row(r), r["before_text"], r["after_text"],
                       r["before_media"], r["after_media"], r["edits"], from_db(r["last_at"]))
            for r in (rows if params["edits"] else [])], total


async def _deletions(db: Database, params: dict[str, Any]) -> tuple[list[DeletedPost], int]:
    # The partial index posts_deleted serves the range on deleted_at; the unary + keeps
    # SQLite from preferring the channel index (which would read every post of a channel).
    # A deleted album is listed once, as its first deleted item.
    rows = await db.fetchall(
        "WITH d AS ("
        "  SELECT channel_id, min(message_id) AS mid, count(*) AS n, "
        "         max(coalesce(views, -1)) AS v FROM posts "
        f"  WHERE deleted_at >= :start AND deleted_at < :end AND +{_IN_CHANNELS} "
        "  GROUP BY channel_id, date, coalesce(grouped_id, -message_id)"
        "), t AS ("
        "  SELECT channel_id AS t_channel, mid, n, count(*) OVER () AS total FROM d "
        "  ORDER BY v DESC, channel_id, mid LIMIT max(:deletions, 1)"
        f") {_select_with(f't.*, {_ALBUM_CAPTION}')} "
        "JOIN t ON p.channel_id = t.t_channel AND p.message_id = t.mid "
        "ORDER BY p.channel_id, p.message_id", params)
    # One row is always read so the total is known even with a limit of 0.
    total = rows[0]["total"] if rows else 0
    kept = rows if params["deletions"] else []
    return [DeletedPost(_with_caption(r), r["n"]) for r in kept], total


async def _photos(db: Database, params: dict[str, Any]) -> list[PeriodPhoto]:
    # Small rows (no text): the digest only names the channels and links the posts.
    rows = await db.fetchall(
        "SELECT DISTINCT p.channel_id, p.message_id, p.date, f.phash FROM posts p "
        "JOIN media_items m ON m.channel_id = p.channel_id AND m.message_id = p.message_id "
        "JOIN media_files f ON f.sha256 = m.sha256 "
        f"WHERE p.date >= :start AND p.date < :end AND p.{_IN_CHANNELS} "
        "AND f.phash IS NOT NULL ORDER BY p.date, p.channel_id, p.message_id", params)
    return [PeriodPhoto(r[0], r[1], from_db(r[2]), r[3]) for r in rows]


async def gather_material(db: Database, period: Period, channel_ids: Sequence[int] | None = None,
                          limits: DigestLimits | None = None) -> DigestMaterial:
    """Everything a digest of ``period`` over ``channel_ids`` (None: every channel in the
    log) needs, in a handful of aggregate queries."""
    limits = limits or DigestLimits()
    channels = await resolve_channels(db, channel_ids)
    by_id = {c.channel_id: c for c in channels}
    params = {
        "channels": ids_json(by_id), "start": to_db(period.start), "end": to_db(period.end),
        "lookback": to_db(period.start - limits.lookback), "top": limits.top_posts,
        "edits": limits.edits, "deletions": limits.deletions,
    }
    hourly = await _hourly(db, params)
    counts: dict[int, int] = {}
    for h in hourly:
        counts[h.channel_id] = counts.get(h.channel_id, 0) + h.posts
    last = await _last_posts(db, params)
    gaps = await _usual_gaps(db, params)
    activity = []
    for c in channels:
        last_date, last_mid = last.get(c.channel_id, (None, None))
        n_gaps, gap = gaps.get(c.channel_id, (0, None))
        activity.append(ChannelActivity(
            c, counts.get(c.channel_id, 0), from_db_opt(last_date), last_mid, n_gaps,
            None if gap is None else timedelta(seconds=round(gap))))
    top = await _top_posts(db, params) if limits.top_posts else []
    grown = await growth_of(db, [(t.stored.post.channel_id, t.stored.post.message_id)
                                 for t in top], period.end)
    top = [replace(t, growth=grown.get((t.stored.post.channel_id,
                                        t.stored.post.message_id))) for t in top]
    edits, edits_total = await _edits(db, params)
    commented = await _most_commented(db, params) if limits.top_posts else []
    deletions, deletions_total = await _deletions(db, params)
    return DigestMaterial(
        period=period, limits=limits, channels=tuple(activity), hourly=tuple(hourly),
        top_posts=tuple(top), edits=tuple(edits), edits_total=edits_total,
        deletions=tuple(deletions), deletions_total=deletions_total,
        photos=tuple(await _photos(db, params)),
        most_commented=tuple(commented))


async def stream_period_posts(db: Database, period: Period,
                              channel_ids: Sequence[int] | None = None
                              ) -> AsyncIterator[StoredPost]:
    """Every post dated in the period, oldest first, in batches (for matching rules)."""
    where = "p.date >= :start AND p.date < :end"
    params: dict[str, Any] = {"start": to_db(period.start), "end": to_db(period.end)}
    if channel_ids is not None:
        where += f" AND p.{_IN_CHANNELS}"
        params["channels"] = ids_json(channel_ids)
    async for row in db.stream(f"{POST_SELECT} WHERE {where} "
                               "ORDER BY p.date, p.channel_id, p.message_id", params):
        yield stored_post_from_row(row)
