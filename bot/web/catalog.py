"""What ``tgmon serve`` shows: the log's tables and views with their titles, descriptions
and facets, and the canned queries. Pure data; :func:`metadata` turns it into Datasette's
metadata.

Only what :data:`SERVED` names can be read in the browser; every other table (the bot's
people, chats, subscriptions, rules, outbox, alerts, webhooks, digest schedules, cursors,
the search and word indexes' own tables, and whatever a later migration adds) is
internal: not listed, refused by URL and unreadable by SQL (:mod:`bot.web.guard`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DB_NAME = "tgmon"           # the database's name in URLs: /tgmon/posts


@dataclass(frozen=True)
class Served:
    """A table or view of the log the browser may read."""

    title: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)     # column -> description
    facets: tuple[Any, ...] = ()
    sort_desc: str | None = None
    label_column: str | None = None
    hidden: bool = False          # readable (queries use it) but not listed
    withheld: frozenset[str] = frozenset()   # columns read as NULL (secrets, people)
    search: bool = False          # full-text search through posts_fts


_POST_COLUMNS = {
    "id": "tgmon's row id of the post (its page: /tgmon/posts/ID)",
    "channel": "the channel's username, or its id when it has none",
    "channel_id": "Telegram's bare channel id (the one in t.me/c/ID/…)",
    "message_id": "the message id in the channel",
    "date": "when it was posted (UTC)",
    "text": "plain text, exactly as posted (the latest version)",
    "views": "view count at the last capture",
    "forwards": "forward count at the last capture",
    "replies": "comment count at the last capture",
    "reactions": "reactions at the last capture (JSON: emoji and count)",
    "media_kind": "photo, video, document, voice, poll, webpage, …",
    "forwarded_from": "name of the forward's origin",
    "fwd_name": "name of the forward's origin",
    "reply_to_id": "id of the message this one replies to",
    "grouped_id": "album id (posts of one album share it)",
    "author": "post signature",
    "edit_date": "Telegram's time of the last edit",
    "deleted_at": "tombstone: when tgmon learnt the post was deleted on Telegram",
    "deleted": "1 when the post was deleted on Telegram (its text stays in the log)",
    "version": "number of the latest version of text and media (1: never changed)",
    "captured_via": "how the post first reached the log: live, catch-up, backfill, import",
    "first_seen": "when tgmon first stored the post",
    "last_seen": "when tgmon last saw it",
    "url": "the post on t.me",
}


def _cols(*names: str, **extra: str) -> dict[str, str]:
    return {**{n: _POST_COLUMNS[n] for n in names}, **extra}


SERVED: dict[str, Served] = {
    "post_log": Served(
        "Posts", "Every captured post, newest first, with its channel and link. Search "
        "reads text as tgmon's rules do: any case, ё = е, look-alike letters seen through; "
        "word* matches words that start with word.",
        _cols("id", "channel", "channel_id", "message_id", "date", "text", "views",
              "forwards", "replies", "media_kind", "forwarded_from", "reply_to_id",
              "grouped_id", "author", "edit_date", "deleted_at", "version", "captured_via",
              "first_seen", "last_seen", "url", "deleted"),
        facets=("channel", {"date": "date"}, "captured_via", "deleted", "media_kind"),
        sort_desc="date", search=True),
    "posts": Served(
        "Posts (table)", "The posts table itself: the latest state of each post, unique "
        "on (channel_id, message_id). A row's page shows its versions as a diff, its "
        "tombstone, its media and its engagement.",
        _cols("id", "channel_id", "message_id", "date", "text", "views", "forwards",
              "replies", "reactions", "media_kind", "reply_to_id", "grouped_id", "author",
              "edit_date", "deleted_at", "version", "captured_via", "first_seen",
              "last_seen", fwd_name=_POST_COLUMNS["fwd_name"],
              entities="formatting (JSON; offsets in UTF-16 units)"),
        facets=("channel_id", {"date": "date"}, "captured_via", "media_kind"),
        sort_desc="date", search=True),
    "post_history": Served(
        "Versions", "Every version of every post (version 1 is the first seen), with its "
        "channel: edits are never lost.",
        _cols("channel", "channel_id", "message_id", "text", "media_kind", "edit_date",
              "deleted_at", version="number of this version (1 is the first seen)",
              seen_at="when tgmon first saw this version"),
        facets=("channel",)),
    "post_versions": Served(
        "Versions (table)", "Every distinct version of a post's text and media.",
        {"post_id": "the post (posts.id)", "version": "1 is the first seen",
         "edit_date": "Telegram's edit time of this version",
         "seen_at": "when tgmon first saw this version"}, hidden=True),
    "stored_versions": Served(
        "Earlier versions", "Versions of posts other than their current one.",
        hidden=True),
    "post_changes": Served(
        "Changes", "What happened to the log, in order: a new post, an edit (a new "
        "version), a deletion.",
        {"seq": "order of the change", "post_id": "the post (posts.id)",
         "kind": "new, edit or delete", "version": "the post's version it made or had",
         "at": "when tgmon recorded it",
         "captured_via": "how tgmon learnt of it: live, catch-up, backfill, import"},
        facets=("kind", "captured_via"), sort_desc="seq"),
    "channels": Served(
        "Channels", "Every channel the log holds posts of, with its current username and "
        "title.",
        {"channel_id": "Telegram's bare channel id", "username": "current username",
         "title": "current title", "first_seen": "when tgmon first saw it",
         "updated_at": "when its name was last read"},
        label_column="username"),
    "channel_names": Served(
        "Channel names", "Each username and title a channel has had, from the first time "
        "tgmon saw it.", {"seen_at": "when tgmon saw this name"}, facets=("channel_id",)),
    "absent_messages": Served(
        "Absent message ids", "Message ids known not to be posts (service messages, posts "
        "deleted before tgmon saw them): they explain holes in a channel's ids.",
        {"reason": "service, deleted or empty", "noted_at": "when tgmon learnt it"},
        facets=("channel_id", "reason")),
    "capture_state": Served(
        "Capture state", "Per watched channel: how far history was read, the last re-check "
        "and capture, backfill progress.",
        {"synced_id": "every message id up to this one was read from Telegram",
         "synced_at": "when a read last reached the channel's newest message",
         "rechecked_at": "when recent posts were last re-checked for edits and deletions",
         "last_capture": "when a post of the channel was last stored new",
         "backfill_floor": "lowest message id tgmon backfill has read down to"}),
    "capture_events": Served(
        "Capture events", "Reconnects, flood waits, failures and recoveries of the capture, "
        "with their time and channel (never post text).",
        {"kind": "reconnect, flood_wait, error, recovered, joined",
         "channel_id": "empty: the whole client"},
        facets=("kind", "channel_id"), sort_desc="at"),
    "watched": Served(
        "Watch list", "The channels tgmon watches (and watched), with their status.",
        {"source": "config (the channels file) or admin (/watch)",
         "status": "pending, ok, unresolved, private or gone",
         "status_detail": "why it is not ok", "removed_at": "/unwatch"},
        facets=("status", "source"), withheld=frozenset({"access_hash", "added_by"})),
    "channel_stats": Served(
        "Channel stats", "Per channel: posts, dates, ids, edits, deletions and capture "
        "paths, kept up to date as posts are written.", facets=()),
    # The media archive (when the log has it): post_media reads the other two.
    "post_media": Served(
        "Media", "Each media file of a post version: kind, size, MIME type, its download "
        "status, its SHA-256 and path in the media archive.",
        {"version": "the post version that first showed it",
         "status": "pending, done, too_large, skipped, missed or failed",
         "sha256": "SHA-256 of the stored file", "path": "the file in the media archive",
         "phash": "photos: perceptual hash"},
        facets=("status", "kind", "channel")),
    "media_items": Served("Media items", "", hidden=True,
                          withheld=frozenset({"access_hash", "file_reference", "dc_id"})),
    "media_files": Served("Media files", "Each stored file once, by its SHA-256.",
                          hidden=True),
    "post_metrics": Served(
        "Engagement", "A post's views, forwards, replies and reactions each time a read "
        "found them changed.",
        {"post_id": "the post (posts.id)", "at": "when tgmon read them (Unix seconds, UTC)",
         "reactions_total": "sum of the reactions' counts",
         "reactions": "JSON {emoji: count}; empty: as in the sample before"}),
    # Read by search (posts' full-text index); not a page of its own.
    "posts_fts": Served("Search index", "", hidden=True),
}

# Tables Datasette reads on its own for FTS5 (the index's shadow tables).
FTS_SHADOWS = ("posts_fts_data", "posts_fts_idx", "posts_fts_docsize", "posts_fts_config",
               "posts_fts_content")


def readable(table: str) -> bool:
    """May the browser read this table or view?"""
    return table in SERVED or table in FTS_SHADOWS


# ---- canned queries ----------------------------------------------------------------

_CHANNEL = "coalesce(c.username, CAST(p.channel_id AS TEXT))"
_URL = ("CASE WHEN c.username IS NOT NULL "
        "THEN 'https://t.me/' || c.username || '/' || p.message_id "
        "ELSE 'https://t.me/c/' || p.channel_id || '/' || p.message_id END")
# :channel empty, or a username (with or without @) or id of the post's channel.
_CHANNEL_PARAM = ("(:channel = '' OR lower(c.username) = lower(ltrim(:channel, '@')) "
                  "OR CAST(p.channel_id AS TEXT) = :channel)")


@dataclass(frozen=True)
class Query:
    title: str
    description: str
    sql: str
    params: tuple[str, ...] = ()


QUERIES: dict[str, Query] = {
    "deleted_recently": Query(
        "Deleted in the last 24 hours",
        "Posts deleted on Telegram in the 24 hours up to 'until' (empty: now), newest "
        "deletion first, with the text tgmon archived. until: a date (2024-03-13) or an "
        "ISO time in UTC.",
        f"""SELECT p.id AS post, {_CHANNEL} AS channel, p.message_id, p.date, p.deleted_at,
       p.version AS versions, p.text AS archived_text, {_URL} AS url
FROM posts p JOIN channels c ON c.channel_id = p.channel_id
WHERE p.deleted_at IS NOT NULL
  AND p.deleted_at > strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(nullif(:until, ''), 'now'),
                              '-1 day')
  AND p.deleted_at <= strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(nullif(:until, ''), 'now'))
ORDER BY p.deleted_at DESC""",
        ("until",)),
    "edited": Query(
        "Edited posts, every version",
        "Posts with more than one version, newest post first, each version on its own "
        "row (version 1 is the first seen). channel: a username or id (empty: all).",
        f"""SELECT p.id AS post, {_CHANNEL} AS channel, p.message_id, p.date, v.version,
       v.edit_date, v.seen_at, v.text, p.deleted_at, {_URL} AS url
FROM posts p JOIN channels c ON c.channel_id = p.channel_id
JOIN post_versions v ON v.post_id = p.id
WHERE p.id IN (SELECT post_id FROM post_changes WHERE kind = 'edit') AND {_CHANNEL_PARAM}
ORDER BY p.date DESC, p.id, v.version""",
        ("channel",)),
    "rule": Query(
        "What a rule matches",
        "The posts a rule matches, as tgmon rules test finds them: tgmon's own matcher "
        "(word forms, ё/е, Latin spellings, OR, -word, \"phrases\", prefix*, from:channel, "
        "/regex/). since and until are days (YYYY-MM-DD, until included; empty until: "
        "today, empty since: 30 days before until). The language: docs/rules.md.",
        f"""WITH period AS (
  SELECT coalesce(nullif(:since, ''),
                  date(coalesce(nullif(:until, ''), date('now')), '-30 days')) AS first_day,
         date(coalesce(nullif(:until, ''), date('now')), '+1 day') AS end_day,
         tgmon_rule_error(:rule) AS error)
SELECT NULL AS post, NULL AS channel, NULL AS date, NULL AS url, NULL AS deleted_at,
       error AS why, NULL AS text
FROM period WHERE error IS NOT NULL
UNION ALL
SELECT * FROM (
  SELECT p.id AS post, {_CHANNEL} AS channel, p.date, {_URL} AS url, p.deleted_at,
         tgmon_rule_match(:rule, p.text, c.username, p.channel_id) AS why, p.text
  FROM period, posts p JOIN channels c ON c.channel_id = p.channel_id
  WHERE period.error IS NULL AND p.date >= period.first_day AND p.date < period.end_day
  ORDER BY p.date DESC, p.id DESC)
WHERE why IS NOT NULL""",
        ("rule", "since", "until")),
    "coverage": Query(
        "Coverage per channel",
        "Per channel: the message ids the log knows from the first to the last, the posts "
        "captured, the ids explained (deleted on Telegram, service messages) and the holes "
        "nobody explained, deletions, how posts came in, the last capture, flood waits "
        "and failures; what tgmon stats shows.",
        """WITH known AS (
  SELECT channel_id, message_id FROM posts
  UNION SELECT channel_id, message_id FROM absent_messages),
ids AS (
  SELECT channel_id, min(message_id) AS first_id, max(message_id) AS last_id,
         count(*) AS known FROM known GROUP BY channel_id),
counts AS (
  SELECT channel_id, count(*) AS posts, sum(deleted_at IS NOT NULL) AS deleted,
         sum(captured_via = 'live') AS live, sum(captured_via = 'catch-up') AS catch_up,
         sum(captured_via = 'backfill') AS backfill, sum(captured_via = 'import') AS imported,
         max(first_seen) AS last_capture
  FROM posts GROUP BY channel_id)
SELECT coalesce(c.username, CAST(c.channel_id AS TEXT)) AS channel, c.title,
       (SELECT w.status FROM watched w WHERE w.channel_id = c.channel_id
        AND w.removed_at IS NULL) AS watch_status,
       ids.first_id, ids.last_id, counts.posts,
       ids.known - counts.posts AS explained,
       ids.last_id - ids.first_id + 1 - ids.known AS holes,
       counts.deleted, counts.live, counts.catch_up, counts.backfill, counts.imported,
       counts.last_capture,
       (SELECT count(*) FROM capture_events e WHERE e.channel_id = c.channel_id
        AND e.kind = 'flood_wait') AS flood_waits,
       (SELECT count(*) FROM capture_events e WHERE e.channel_id = c.channel_id
        AND e.kind = 'error') AS failures
FROM channels c JOIN ids ON ids.channel_id = c.channel_id
JOIN counts ON counts.channel_id = c.channel_id
ORDER BY channel"""),
}


# ---- Datasette's metadata --------------------------------------------------------------

def _table_metadata(name: str, s: Served) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": s.title, "description": s.description}
    if s.columns:
        meta["columns"] = dict(s.columns)
    if s.facets:
        meta["facets"] = list(s.facets)
    if s.sort_desc:
        meta["sort_desc"] = s.sort_desc
    if s.label_column:
        meta["label_column"] = s.label_column
    if s.hidden:
        meta["hidden"] = True
    if s.search:
        meta["fts_table"] = "posts_fts"
        meta["fts_pk"] = "id"
    return meta


def metadata(tables: set[str]) -> dict[str, Any]:
    """Datasette's metadata for a log holding ``tables`` (its tables and views): served
    ones described, canned queries listed."""
    return {
        "title": "tgmon: the captured-post log",
        "description_html": (
            "Every post, every edit (as a version) and every deletion (as a tombstone) "
            "tgmon captured. Start with <a href=\"/tgmon/post_log\">Posts</a> (search and "
            "facets) or a <a href=\"/tgmon#queries\">canned query</a>. Read-only."),
        "databases": {DB_NAME: {
            "title": "The log",
            "description": "Channels, posts, versions, tombstones and the capture's "
                           "coverage. Internal tables (the bot's people, rules, outbox, …) "
                           "are not served.",
            "tables": {name: _table_metadata(name, s) for name, s in SERVED.items()
                       if name in tables},
            # the SQL shown on a click ("show"), not above the results
            "queries": {name: {"title": q.title, "description": q.description,
                               "sql": q.sql, "hide_sql": True,
                               **({"params": list(q.params)} if q.params else {})}
                        for name, q in QUERIES.items()},
        }},
    }
