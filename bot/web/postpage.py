"""A post's page in the browser: its versions as a diff, its tombstone, its media (files
from the archive when there are any), its link on t.me and its engagement over time.

:func:`load` reads what the page needs through Datasette's read connection (guarded like
every other); :func:`build` turns the rows into the page (pure). Tables that a tgmon
without media downloads or engagement samples does not have are simply left out.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.alerts.diff import word_diff
from storage.models import post_url

# Tables that may not exist yet: the media archive (issue 12: a post's files in the view
# post_media, each stored file once in media_files) and engagement samples (issue 13:
# post_metrics, one row per read that found the counters changed; `at` in Unix seconds).
MEDIA_VIEW = "post_media"
MEDIA_FILES = "media_files"
ENGAGEMENT_TABLE = "post_metrics"

Row = Mapping[str, Any]
Execute = Callable[[str, Sequence[Any]], Awaitable[Sequence[Row]]]


@dataclass(frozen=True)
class Version:
    number: int
    seen_at: str
    edit_date: str | None
    text: str
    media_kind: str | None
    diff: tuple[tuple[str, str], ...]     # (op, text): same, removed, added (vs the one before)


@dataclass(frozen=True)
class MediaFile:
    kind: str | None
    mime_type: str | None
    size: int | None
    sha256: str | None
    status: str | None
    href: str | None                      # the file from the archive, when it is there
    image: bool


@dataclass(frozen=True)
class PostPage:
    id: int
    channel: str                          # @username, or the title, or the id
    channel_title: str | None
    message_id: int
    date: str
    url: str
    deleted_at: str | None
    captured_via: str
    first_seen: str
    last_seen: str
    counters: tuple[tuple[str, Any], ...]     # views, forwards, replies at the last capture
    reactions: tuple[tuple[str, int], ...]
    media: str | None                         # what the post says of its media
    files: tuple[MediaFile, ...]
    versions: tuple[Version, ...]             # newest first
    changes: tuple[tuple[str, str, int, str], ...]   # (kind, at, version, captured_via)
    engagement_columns: tuple[str, ...]
    engagement: tuple[tuple[Any, ...], ...]

    @property
    def text(self) -> str:
        return self.versions[0].text if self.versions else ""


def _media_line(post: Row) -> str | None:
    kind = post["media_kind"]
    if kind is None:
        return None
    parts = [kind]
    if post["media_file_name"]:
        parts.append(post["media_file_name"])
    if post["media_mime_type"]:
        parts.append(post["media_mime_type"])
    if post["media_size"]:
        parts.append(f"{post['media_size']:,} bytes")
    if post["media_width"] and post["media_height"]:
        parts.append(f"{post['media_width']}×{post['media_height']}")
    if post["media_duration"]:
        parts.append(f"{post['media_duration']:g} s")
    return ", ".join(str(p) for p in parts)


def _reactions(raw: str | None) -> tuple[tuple[str, int], ...]:
    try:
        items = json.loads(raw) if raw else []
    except ValueError:
        return ()
    return tuple((str(r.get("emoji")), int(r.get("count") or 0)) for r in items
                 if isinstance(r, dict))


def _versions(rows: Iterable[Row]) -> tuple[Version, ...]:
    out: list[Version] = []
    before: str | None = None
    for r in sorted(rows, key=lambda r: r["version"]):
        text = r["text"] or ""
        diff = () if before is None else tuple((p.op, p.text)
                                               for p in word_diff(before, text))
        out.append(Version(r["version"], r["seen_at"], r["edit_date"], text,
                           r["media_kind"], diff))
        before = text
    return tuple(reversed(out))


def _file(r: Row, media_href: Callable[[str], str]) -> MediaFile:
    keys = list(r.keys())          # (a sqlite3.Row's "in" looks at its values)

    def get(*names: str) -> Any:
        return next((r[n] for n in names if n in keys), None)

    sha = get("sha256")
    status = get("status")
    mime = get("mime_type", "mime")
    kind = get("kind", "media_kind")
    done = status == "done" and isinstance(sha, str) and get("path") is not None
    return MediaFile(kind, mime, get("size"), sha, status,
                     media_href(sha) if done and isinstance(sha, str) else None,
                     done and (kind == "photo" or str(mime or "").startswith("image/")))


def build(post: Row, versions: Iterable[Row], changes: Iterable[Row],
          files: Iterable[Row] = (), engagement: Sequence[Row] = (),
          media_href: Callable[[str], str] = lambda sha: f"/-/tgmon/media/{sha}") -> PostPage:
    """The page of a post from its rows (pure)."""
    username = post["username"]
    channel = f"@{username}" if username else (post["title"] or str(post["channel_id"]))
    names = list(engagement[0].keys()) if engagement else []
    columns = tuple(c for c in names if c not in ("id", "post_id"))
    samples = tuple(tuple(_utc(r[c]) if c == "at" else r[c] for c in columns)
                    for r in engagement)
    return PostPage(
        post["id"], channel, post["title"], post["message_id"], post["date"],
        post_url(username, post["channel_id"], post["message_id"]), post["deleted_at"],
        post["captured_via"], post["first_seen"], post["last_seen"],
        tuple((name, post[name]) for name in ("views", "forwards", "replies")
              if post[name] is not None),
        _reactions(post["reactions"]), _media_line(post),
        tuple(_file(r, media_href) for r in files), _versions(versions),
        tuple((r["kind"], r["at"], r["version"], r["captured_via"]) for r in changes),
        columns, samples)


def _utc(at: Any) -> Any:
    """A sample's time: Unix seconds as tgmon writes times (2024-03-12T05:00:00Z)."""
    if isinstance(at, int) and not isinstance(at, bool):
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return at


async def _tables(execute: Execute) -> set[str]:
    rows = await execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')", ())
    return {r["name"] for r in rows}


async def load(execute: Execute, post_id: int) -> PostPage | None:
    """The page of post ``post_id``, or None if the log has no such post."""
    posts = await execute(
        "SELECT p.*, c.username, c.title FROM posts p JOIN channels c "
        "ON c.channel_id = p.channel_id WHERE p.id = ?", (post_id,))
    if not posts:
        return None
    versions = await execute(
        "SELECT version, text, media_kind, edit_date, seen_at FROM post_versions "
        "WHERE post_id = ?", (post_id,))
    changes = await execute(
        "SELECT kind, at, version, captured_via FROM post_changes WHERE post_id = ? "
        "ORDER BY seq", (post_id,))
    tables = await _tables(execute)
    post = posts[0]
    files = await _optional(
        execute, MEDIA_VIEW, tables,
        f"SELECT * FROM {MEDIA_VIEW} WHERE channel_id = ? AND message_id = ? "
        "ORDER BY version", (post["channel_id"], post["message_id"]))
    samples = await _optional(
        execute, ENGAGEMENT_TABLE, tables,
        f"SELECT * FROM {ENGAGEMENT_TABLE} WHERE post_id = ? ORDER BY at", (post_id,))
    return build(post, versions, changes, files, samples)


async def _optional(execute: Execute, table: str, tables: set[str], sql: str,
                    params: Sequence[Any]) -> Sequence[Row]:
    """The post's rows of a table a later tgmon adds; none while it is not there (or not
    as this page expects it)."""
    if table not in tables:
        return []
    try:
        return await execute(sql, params)
    except sqlite3.Error:
        return []


async def archived_file(execute: Execute, sha256: str) -> Row | None:
    """The stored file (``path`` relative to the archive, ``mime_type``) with this
    SHA-256, if the archive holds it."""
    rows = await _optional(execute, MEDIA_FILES, await _tables(execute),
                           f"SELECT path, mime_type FROM {MEDIA_FILES} WHERE sha256 = ?",
                           (sha256,))
    return rows[0] if rows else None
