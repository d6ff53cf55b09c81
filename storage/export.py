"""Exporting the log to CSV or JSON Lines, streamed: memory stays flat at any size.

One column list, :data:`COLUMNS`, fixes the CSV header and the JSONL keys (same
names, same order), and one table of SQL expressions computes every value
(:func:`export_sql`, which also reproduces an export in the ``sqlite3`` shell).

- JSONL: each row becomes an ordered dict (:func:`export_record`, pure) then a line.
- CSV: SQLite itself writes each RFC 4180 line (:func:`csv_sql`): one ``printf`` per
  row, returned as bytes. Building a million lines of long Cyrillic text in Python
  (``csv`` module, or even just decoding and re-encoding UTF-8) is two to three times
  slower than the ``sqlite3`` shell; this way the export keeps pace with it.

Rows go from the cursor to the output in batches. Filters and SQL are pure functions.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from config.errors import TgmonError
from storage.db import Database
from storage.normalise import search_text
from storage.timefmt import to_db

FORMATS = ("csv", "jsonl")

# The documented, stable column order (docs/export.md, "Export columns"). New columns are
# only ever added at the end.
COLUMNS: tuple[str, ...] = (
    "channel", "channel_id", "message_id", "date", "text", "views", "forwards",
    "edit_date", "deleted_at", "url", "version", "version_seen_at", "replies", "reactions",
    "media_kind", "media_file_name", "media_size", "media_mime_type", "forwarded_from",
    "forwarded_from_channel_id", "forwarded_message_id", "reply_to_id", "grouped_id",
    "author", "captured_via", "first_seen", "last_seen", "entities",
    "media_sha256", "media_path", "media_status",
    # the fields researchers cite (migration post_details)
    "restriction_reason", "noforwards", "pinned", "webpage_url", "webpage_site",
    "webpage_title", "webpage_description", "poll", "geo", "contact", "dice", "topic_id",
    "via_bot_id", "sender_id", "sender_name",
)
# Columns holding JSON text in the database: arrays in JSONL, JSON text in CSV.
JSON_COLUMNS = frozenset({"reactions", "entities", "restriction_reason"})
# JSON objects: objects in JSONL (null when absent), JSON text in CSV.
JSON_OBJECT_COLUMNS = frozenset({"poll", "geo", "contact", "dice"})
# Columns that may hold any text (commas, quotes, line breaks): always quoted in CSV.
# The others are numbers, tgmon's own words, UTC times, usernames and t.me links.
FREE_TEXT_COLUMNS = frozenset({"text", "reactions", "media_file_name", "media_mime_type",
                               "forwarded_from", "author", "entities", "restriction_reason",
                               "webpage_url", "webpage_site", "webpage_title",
                               "webpage_description", "poll", "geo", "contact", "dice",
                               "sender_name"})
# The media archive's columns (docs/media.md): the row's media item is the post's latest
# one not newer than the row's version, so a version row shows the file it showed.
MEDIA_COLUMNS = ("media_sha256", "media_path", "media_status")

DELETED_MODES = ("exclude", "include", "only")


class ExportOptionError(TgmonError):
    """A bad export option (date, search text, format)."""


@dataclass(frozen=True)
class ExportFilter:
    channel_ids: tuple[int, ...] = ()       # empty: every channel
    since: datetime | None = None           # post date >= since
    before: datetime | None = None          # post date < before (exclusive bound)
    search: str | None = None               # an FTS5 query, see fts_query()
    deleted: str = "exclude"                # exclude | include | only tombstoned posts
    versions: bool = False                  # one row per version instead of per post


# ---- options -------------------------------------------------------------------

_WORD = re.compile(r"\S+")
# What FTS5's unicode61 tokenizer keeps in a token: letters, digits, combining marks
# (which it then removes) and private-use characters. Anything else splits a word.
_TOKEN_CATEGORIES = ("Mn", "Mc", "Me", "Co")


def _pieces(word: str) -> list[str]:
    out, piece = [], []
    for ch in word:
        if ch.isalnum() or unicodedata.category(ch) in _TOKEN_CATEGORIES:
            piece.append(ch)
        elif piece:
            out.append("".join(piece))
            piece = []
    if piece:
        out.append("".join(piece))
    return out


def fts_query(text: str) -> str:
    """A safe FTS5 query from user text: every word must appear (any case, ё = е, read
    through the normalisation the index holds: :func:`storage.normalise.search_text`);
    a word ending in ``*`` matches words that start with it. A word the index splits
    (Санкт-Петербург, 12:30) is searched as its parts; each part is quoted, so FTS
    syntax (``AND``, ``"``, ``:``, ``-``, parentheses) is plain text here."""
    folded = search_text(text)
    terms = []
    for word in _WORD.findall(folded):
        prefix = word.endswith("*") and len(word) > 1
        pieces = _pieces(word.rstrip("*") if prefix else word)
        terms += [f'"{p}"' for p in pieces]
        if prefix and pieces:
            terms[-1] += " *"
    if not terms:
        raise ExportOptionError(
            f"--search {text!r} has no word to search for: give at least one word")
    return " ".join(terms)


# ---- SQL -----------------------------------------------------------------------

_CHANNEL = "coalesce(c.username, CAST(p.channel_id AS TEXT))"
_URL = ("CASE WHEN c.username IS NOT NULL "
        "THEN 'https://t.me/' || c.username || '/' || p.message_id "
        "ELSE 'https://t.me/c/' || p.channel_id || '/' || p.message_id END")


# ``d`` is the post's row of post_details (a LEFT JOIN: most posts have none).
DETAIL_EXPRESSIONS = {
    "restriction_reason": "d.restriction_reason", "noforwards": "coalesce(d.noforwards, 0)",
    "pinned": "coalesce(d.pinned, 0)", "webpage_url": "d.webpage_url",
    "webpage_site": "d.webpage_site", "webpage_title": "d.webpage_title",
    "webpage_description": "d.webpage_description", "poll": "d.poll", "geo": "d.geo",
    "contact": "d.contact", "dice": "d.dice", "topic_id": "d.topic_id",
    "via_bot_id": "d.via_bot_id", "sender_id": "d.sender_id", "sender_name": "d.sender_name",
}
_DETAILS = " LEFT JOIN post_details d ON d.post_id = p.id"


# With --versions, each post row is joined with a two-row table: k = 0 reads the post's
# stored versions (stored_versions, one row each), k = 1 the current version, which the
# post itself holds unless its first state is stored (migration 0011).
_VERSION_SEEN = "coalesce(p.version_seen_at, p.first_seen)"


def _expressions(versions: bool) -> dict[str, str]:
    """The SQL expression of every column. ``p`` is the post, ``c`` its channel; text and
    media come from the post (its latest version) or, with ``versions``, from one
    version."""
    def src(col: str) -> str:
        return f"iif(k.k = 0, v.{col}, p.{col})" if versions else f"p.{col}"

    seen = (f"iif(k.k = 0, v.seen_at, {_VERSION_SEEN})" if versions else
            "coalesce((SELECT x.seen_at FROM stored_versions x WHERE x.post_id = p.id "
            f"AND x.version = p.version), {_VERSION_SEEN})")
    exprs = {
        "channel": _CHANNEL, "channel_id": "p.channel_id", "message_id": "p.message_id",
        "date": "p.date", "text": src("text"), "views": "p.views", "forwards": "p.forwards",
        "edit_date": src("edit_date"), "deleted_at": "p.deleted_at", "url": _URL,
        "version": src("version"), "version_seen_at": seen, "replies": "p.replies",
        "reactions": "p.reactions", "media_kind": src("media_kind"),
        "media_file_name": src("media_file_name"), "media_size": src("media_size"),
        "media_mime_type": src("media_mime_type"), "forwarded_from": "p.fwd_name",
        "forwarded_from_channel_id": "p.fwd_channel_id",
        "forwarded_message_id": "p.fwd_message_id", "reply_to_id": "p.reply_to_id",
        "grouped_id": "p.grouped_id", "author": "p.author", "captured_via": "p.captured_via",
        "first_seen": "p.first_seen", "last_seen": "p.last_seen", "entities": src("entities"),
    }
    exprs.update(_media_expressions(exprs["version"], exprs["media_kind"]))
    exprs.update(DETAIL_EXPRESSIONS)
    assert tuple(exprs) == COLUMNS
    return exprs


def _media_expressions(version: str, kind: str) -> dict[str, str]:
    """``media_sha256``, ``media_path``, ``media_status`` of the media item a row shows:
    ``version`` and ``kind`` are the row's version and media kind expressions."""
    item = ("SELECT {col} FROM media_items m WHERE m.channel_id = p.channel_id "
            f"AND m.message_id = p.message_id AND m.version <= {version} "
            "ORDER BY m.version DESC, m.id DESC LIMIT 1")

    def of_item(col: str) -> str:
        return f"iif({kind} IS NULL, NULL, ({item.format(col=col)}))"

    return {"media_sha256": of_item("m.sha256"),
            "media_path": f"(SELECT f.path FROM media_files f WHERE f.sha256 = "
                          f"{of_item('m.sha256')})",
            "media_status": of_item("m.status")}


def _csv_cell(name: str, expr: str) -> str:
    """SQL for one CSV field: NULL is empty, free text is quoted with ``"`` doubled
    (``%w``), everything else is written as is (numbers, times, plain words)."""
    if name in FREE_TEXT_COLUMNS:
        return f"iif({expr} IS NULL, '', printf('\"%w\"', {expr}))"
    return expr          # printf's %s writes NULL as an empty string


def _where(f: ExportFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if f.channel_ids:
        where.append(f"p.channel_id IN ({', '.join('?' for _ in f.channel_ids)})")
        params.extend(f.channel_ids)
    if f.since is not None:
        where.append("p.date >= ?")
        params.append(to_db(f.since))
    if f.before is not None:
        where.append("p.date < ?")
        params.append(to_db(f.before))
    if f.deleted == "exclude":
        where.append("p.deleted_at IS NULL")
    elif f.deleted == "only":
        where.append("p.deleted_at IS NOT NULL")
    elif f.deleted != "include":
        raise ValueError(f"deleted must be one of {DELETED_MODES}")
    if f.search is not None:
        where.append("p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
        params.append(f.search)
    return where, params


_ONE_ROW_PER_VERSION = (
    "((k.k = 0 AND v.id IS NOT NULL) OR (k.k = 1 AND NOT EXISTS (SELECT 1 FROM "
    "stored_versions x WHERE x.post_id = p.id AND x.version = p.version)))")


def _from(versions: bool) -> str:
    posts = "FROM posts p JOIN channels c ON c.channel_id = p.channel_id"
    if versions:
        return (f"{posts} JOIN (SELECT 0 AS k UNION ALL SELECT 1) k "
                "LEFT JOIN stored_versions v ON k.k = 0 AND v.post_id = p.id" + _DETAILS)
    return posts + _DETAILS


def _tail(f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    where, params = _where(f)
    if f.versions:
        where.append(_ONE_ROW_PER_VERSION)
    order = "p.date, p.channel_id, p.message_id" + (
        ", iif(k.k = 0, v.version, p.version)" if f.versions else "")
    return (f" {_from(f.versions)}" + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {order}"), tuple(params)


def export_sql(f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    """The query selecting :data:`COLUMNS` for a filter, oldest post first."""
    tail, params = _tail(f)
    columns = ", ".join(f"{expr} AS {name}" for name, expr in _expressions(f.versions).items())
    return f"SELECT {columns}{tail}", params


def version_record_sql() -> str:
    """The query selecting :data:`COLUMNS` of one post at one version (``?`` the post's
    row id, ``?`` the version), as ``tgmon export --versions`` writes that row."""
    columns = ", ".join(f"{expr} AS {name}" for name, expr in _expressions(True).items())
    # filtered on the output column: where a version's row comes from is export's business
    return (f"SELECT * FROM (SELECT {columns} {_from(True)} WHERE p.id = ?) "
            "WHERE version = ? LIMIT 1")


def csv_sql(f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    """The same rows as :func:`export_sql`, each as one CSV line (bytes, no line end)."""
    tail, params = _tail(f)
    cells = [_csv_cell(name, expr) for name, expr in _expressions(f.versions).items()]
    line = f"printf('{','.join('%s' for _ in cells)}', {', '.join(cells)})"
    return f"SELECT CAST({line} AS BLOB){tail}", params


def count_sql(f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    where, params = _where(f)
    if f.versions:
        where.append(_ONE_ROW_PER_VERSION)
    sql = (f"SELECT count(*) {_from(f.versions)}"
           + (f" WHERE {' AND '.join(where)}" if where else ""))
    return sql, tuple(params)


# ---- rows and writers ------------------------------------------------------------

def export_record(row: Sequence[Any]) -> dict[str, Any]:
    """A row of :func:`export_sql` as a JSONL object: keys in :data:`COLUMNS` order,
    JSON columns as arrays."""
    record = dict(zip(COLUMNS, row, strict=True))
    for name in JSON_COLUMNS:
        raw = record[name]
        record[name] = json.loads(raw) if raw else []
    for name in JSON_OBJECT_COLUMNS:
        raw = record[name]
        record[name] = json.loads(raw) if raw else None
    return record


class CsvWriter:
    """RFC 4180 CSV in UTF-8: comma-separated, CRLF line ends, text fields quoted.
    With ``bom`` the file starts with a UTF-8 byte order mark so that Excel reads it
    as UTF-8 (LibreOffice and pandas read it either way)."""

    def __init__(self, out: BinaryIO, bom: bool = True) -> None:
        self._out = out
        self._bom = bom

    def sql(self, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
        return csv_sql(f)

    def start(self) -> None:
        self._out.write(("\ufeff" if self._bom else "").encode()
                        + ",".join(COLUMNS).encode() + b"\r\n")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._out.write(b"\r\n".join([row[0] for row in rows]) + b"\r\n")


class JsonlWriter:
    """One JSON object per line (UTF-8, not ASCII-escaped), keys as :data:`COLUMNS`."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def sql(self, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
        return export_sql(f)

    def start(self) -> None:
        pass

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        dumps = self._dumps
        self._out.write("".join([dumps(export_record(row)) + "\n" for row in rows]).encode())


def make_writer(fmt: str, out: BinaryIO, *, bom: bool = True) -> CsvWriter | JsonlWriter:
    if fmt == "csv":
        return CsvWriter(out, bom=bom)
    if fmt == "jsonl":
        return JsonlWriter(out)
    raise ExportOptionError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")


async def count_rows(db: Database, f: ExportFilter) -> int:
    sql, params = count_sql(f)
    row = await db.fetchone(sql, params)
    return int(row[0]) if row else 0


class RowWriter(Protocol):
    """What :func:`export_rows` writes with: the query for a filter, then its rows."""

    def sql(self, f: ExportFilter) -> tuple[str, tuple[Any, ...]]: ...

    def start(self) -> None: ...

    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...


async def export_rows(db: Database, f: ExportFilter, writer: RowWriter,
                      progress: Callable[[int], None] = lambda _n: None,
                      batch: int = 5000) -> int:
    """Stream the filtered log into ``writer``; returns the number of rows written."""
    sql, params = writer.sql(f)
    writer.start()
    pending: list[Any] = []
    written = 0
    async for row in db.stream(sql, params, batch=batch):
        pending.append(row)
        if len(pending) >= batch:
            writer.write(pending)
            written += len(pending)
            progress(len(pending))
            pending = []
    if pending:
        writer.write(pending)
        written += len(pending)
        progress(len(pending))
    return written
