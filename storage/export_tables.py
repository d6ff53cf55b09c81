"""Exports beside the posts: engagement samples (``tgmon export --metrics``) and, built
the same way, other tables of the log. Each is one :class:`Table`: its columns in their
documented order, one SQL expression each, and the rows it reads; CSV lines are written
by SQLite as for the posts (:mod:`storage.export`), JSONL objects by Python.

The usual filters (:class:`storage.export.ExportFilter`: channels, dates, search,
deleted) select the posts whose rows are written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from storage.db import Database
from storage.export import ExportFilter, ExportOptionError, _csv_cell, _where

_CHANNEL = "coalesce(c.username, CAST(p.channel_id AS TEXT))"


@dataclass(frozen=True)
class Table:
    name: str
    expressions: dict[str, str]          # column -> SQL expression, in column order
    source: str                          # FROM ... (``p`` posts, ``c`` channels)
    order: str
    json_columns: frozenset[str] = frozenset()
    free_text: frozenset[str] = frozenset()
    json_empty: str = "[]"               # a JSON column without a value, in JSONL
    search: bool = True                  # ``p`` is posts: --search applies
    deleted: bool = True                 # ``p`` has deleted_at: the deleted options apply

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.expressions)


def _time(expr: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expr}, 'unixepoch')"


# The reactions of a sample: its own, or those of the latest sample before it that had
# any (a sample keeps them only when they changed, migration post_metrics).
_SAMPLE_REACTIONS = (
    "coalesce(m.reactions, (SELECT r.reactions FROM post_metrics r WHERE r.post_id = m.post_id "
    "AND r.at < m.at AND r.reactions IS NOT NULL ORDER BY r.at DESC LIMIT 1))")

METRICS = Table(
    name="metrics",
    expressions={
        "channel": _CHANNEL, "channel_id": "p.channel_id", "message_id": "p.message_id",
        "at": _time("m.at"), "views": "m.views", "forwards": "m.forwards",
        "replies": "m.replies", "reactions_total": "m.reactions_total",
        "reactions": _SAMPLE_REACTIONS,
    },
    source=("FROM posts p JOIN channels c ON c.channel_id = p.channel_id "
            "JOIN post_metrics m ON m.post_id = p.id"),
    order="p.date, p.channel_id, p.message_id, m.at",
    json_columns=frozenset({"reactions"}),
    free_text=frozenset({"reactions"}),
    json_empty="{}",
)

# Service messages of watched channels (migration post_details); ``p`` is service_messages here.
SERVICE = Table(
    name="service",
    expressions={
        "channel": _CHANNEL, "channel_id": "p.channel_id", "message_id": "p.message_id",
        "date": "p.date", "action": "p.action", "detail": "p.detail",
        "url": ("CASE WHEN c.username IS NOT NULL "
                "THEN 'https://t.me/' || c.username || '/' || p.message_id "
                "ELSE 'https://t.me/c/' || p.channel_id || '/' || p.message_id END"),
        "noted_at": "p.noted_at",
    },
    source="FROM service_messages p JOIN channels c ON c.channel_id = p.channel_id",
    order="p.date, p.channel_id, p.message_id",
    json_columns=frozenset({"detail"}),
    free_text=frozenset({"detail"}),
    json_empty="{}",
    search=False,
    deleted=False,
)

# Comments (migration comments); ``p`` is comments here: --channel, --since, --until (the
# comment's date) and the deleted options apply.
COMMENTS = Table(
    name="comments",
    expressions={
        "channel": _CHANNEL, "channel_id": "p.channel_id", "post_id": "p.post_id",
        "comment_id": "p.comment_id", "date": "p.date", "from_id": "p.from_id",
        "from_name": "p.from_name", "text": "p.text", "reply_to": "p.reply_to",
        "edit_date": "p.edit_date", "deleted_at": "p.deleted_at",
        "url": ("CASE WHEN c.username IS NOT NULL "
                "THEN 'https://t.me/' || c.username || '/' || p.post_id "
                "ELSE 'https://t.me/c/' || p.channel_id || '/' || p.post_id END "
                "|| '?comment=' || p.comment_id"),
    },
    source="FROM comments p JOIN channels c ON c.channel_id = p.channel_id",
    order="p.date, p.channel_id, p.post_id, p.comment_id",
    free_text=frozenset({"from_name", "text"}),
    search=False,
)

TABLES = {t.name: t for t in (METRICS, SERVICE, COMMENTS)}


def _filter(table: Table, f: ExportFilter) -> tuple[list[str], list[Any]]:
    if f.versions:
        raise ExportOptionError(f"--versions applies to posts, not to --{table.name}")
    if not table.search and f.search is not None:
        raise ExportOptionError(f"--search applies to posts, not to --{table.name}")
    if not table.deleted:
        f = replace(f, deleted="include")
    return _where(f)


def _tail(table: Table, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    where, params = _filter(table, f)
    return (f" {table.source}" + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {table.order}"), tuple(params)


def table_sql(table: Table, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    tail, params = _tail(table, f)
    cols = ", ".join(f"{expr} AS {name}" for name, expr in table.expressions.items())
    return f"SELECT {cols}{tail}", params


def table_csv_sql(table: Table, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    tail, params = _tail(table, f)
    cells = [_cell(table, name, expr) for name, expr in table.expressions.items()]
    line = f"printf('{','.join('%s' for _ in cells)}', {', '.join(cells)})"
    return f"SELECT CAST({line} AS BLOB){tail}", params


def _cell(table: Table, name: str, expr: str) -> str:
    if name in table.free_text:
        return f"iif({expr} IS NULL, '', printf('\"%w\"', {expr}))"
    return _csv_cell(name, expr)


def table_count_sql(table: Table, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
    where, params = _filter(table, f)
    return (f"SELECT count(*) {table.source}"
            + (f" WHERE {' AND '.join(where)}" if where else "")), tuple(params)


def table_record(table: Table, row: Sequence[Any]) -> dict[str, Any]:
    record = dict(zip(table.columns, row, strict=True))
    for name in table.json_columns:
        raw = record[name]
        record[name] = json.loads(raw if raw else table.json_empty)
    return record


class TableCsvWriter:
    def __init__(self, table: Table, out: BinaryIO, bom: bool = True) -> None:
        self.table = table
        self._out = out
        self._bom = bom

    def sql(self, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
        return table_csv_sql(self.table, f)

    def start(self) -> None:
        self._out.write(("\ufeff" if self._bom else "").encode()
                        + ",".join(self.table.columns).encode() + b"\r\n")

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self._out.write(b"\r\n".join([row[0] for row in rows]) + b"\r\n")


class TableJsonlWriter:
    def __init__(self, table: Table, out: BinaryIO) -> None:
        self.table = table
        self._out = out
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def sql(self, f: ExportFilter) -> tuple[str, tuple[Any, ...]]:
        return table_sql(self.table, f)

    def start(self) -> None:
        pass

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        dumps, table = self._dumps, self.table
        self._out.write("".join([dumps(table_record(table, row)) + "\n"
                                 for row in rows]).encode())


def make_table_writer(table: Table, fmt: str, out: BinaryIO, *,
                      bom: bool = True) -> TableCsvWriter | TableJsonlWriter:
    if fmt == "csv":
        return TableCsvWriter(table, out, bom=bom)
    if fmt == "jsonl":
        return TableJsonlWriter(table, out)
    raise ExportOptionError(f"unknown export format {fmt!r}: use csv or jsonl")


async def count_table_rows(db: Database, table: Table, f: ExportFilter) -> int:
    sql, params = table_count_sql(table, f)
    row = await db.fetchone(sql, params)
    return int(row[0]) if row else 0
