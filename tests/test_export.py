"""Exports: one column list for CSV and JSONL, exact texts, filters, versions, tombstones."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from config.dates import DateOptionError, parse_when
from storage.export import (
    COLUMNS,
    JSON_COLUMNS,
    JSON_OBJECT_COLUMNS,
    ExportFilter,
    ExportOptionError,
    export_rows,
    export_sql,
    fts_query,
    make_writer,
)
from storage.models import CapturePath, Channel, Entity, ForwardOrigin, Media, Post, Reaction
from storage.posts import mark_deleted, save_posts

RYBAR = Channel(1001, "rybar", "Рыбарь")
PRIVATE = Channel(2002, None, "Закрытый канал")
T0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
SEEN = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)

TRICKY = [
    "Бойцы вошли в ТЁТКИНО, бой продолжается",
    'Цитата: "Мы здесь", сказал он; 100% правда',
    "Строка 1\nСтрока 2\r\nСтрока 3\n",
    "=HYPERLINK(\"http://x\") — формула остаётся текстом",
    "Эмодзи 🔥🇺🇦 и ё, Ё, й",
    "",
]


async def populate(db):
    posts = [Post(RYBAR.channel_id, i + 1, T0 + timedelta(minutes=i), text, views=10 * i)
             for i, text in enumerate(TRICKY)]
    posts.append(Post(RYBAR.channel_id, 20, T0 + timedelta(hours=2), "Сводка с фото",
                      entities=(Entity("bold", 0, 6),), views=1500, forwards=12, replies=3,
                      reactions=(Reaction("🔥", 40), Reaction("👍", 2)),
                      media=Media("photo", size=123456, width=1280, height=720),
                      forward=ForwardOrigin(channel_id=3003, name="Источник, \"в кавычках\""),
                      reply_to_id=5, grouped_id=777, author="Иван"))
    await save_posts(db, posts, CapturePath.LIVE, SEEN, channel=RYBAR)
    await save_posts(db, [Post(PRIVATE.channel_id, 7, T0 + timedelta(days=1), "Закрытый пост")],
                     CapturePath.IMPORT, SEEN, channel=PRIVATE)
    # an edit: version 2 of post 1
    await save_posts(db, [Post(RYBAR.channel_id, 1, T0, "Бойцы вышли из Тёткино",
                               edit_date=T0 + timedelta(hours=3))],
                     CapturePath.LIVE, SEEN + timedelta(hours=3))
    async with db.transaction() as conn:
        await mark_deleted(conn, RYBAR.channel_id, [2], SEEN + timedelta(hours=5))


async def export(db, flt=None, fmt="csv", bom=True) -> bytes:
    flt = flt or ExportFilter()
    out = io.BytesIO()
    await export_rows(db, flt, make_writer(fmt, out, bom=bom), batch=3)
    return out.getvalue()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def jsonl_rows(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_required_columns_lead_in_the_documented_order():
    assert COLUMNS[:10] == ("channel", "channel_id", "message_id", "date", "text", "views",
                            "forwards", "edit_date", "deleted_at", "url")
    assert "version" in COLUMNS and len(set(COLUMNS)) == len(COLUMNS)


async def test_csv_header_and_jsonl_keys_are_the_same_list(db):
    await populate(db)
    data = await export(db)
    assert data.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    for record in jsonl_rows(await export(db, fmt="jsonl")):
        assert list(record) == list(COLUMNS)


async def test_csv_is_rfc4180_and_holds_every_text_exactly(db):
    await populate(db)
    data = await export(db, ExportFilter(deleted="include"))
    # every record ends with CRLF; line breaks inside texts stay inside quotes
    assert data.endswith(b"\r\n")
    rows = csv_rows(data)
    texts = {int(r["message_id"]): r["text"] for r in rows if r["channel"] == "rybar"}
    assert texts[1] == "Бойцы вышли из Тёткино"            # the latest version
    for mid, text in enumerate(TRICKY[1:], start=2):
        assert texts[mid] == text
    assert csv_rows(await export(db, bom=False))[0].keys() == csv_rows(data)[0].keys()
    assert not (await export(db, bom=False)).startswith(b"\xef\xbb\xbf")


async def test_csv_and_jsonl_hold_the_same_values_as_the_sql(db):
    await populate(db)
    for flt in (ExportFilter(deleted="include"), ExportFilter(deleted="include", versions=True)):
        sql, params = export_sql(flt)
        expected = [tuple(r) for r in await db.fetchall(sql, params)]
        as_csv = [tuple(r.values()) for r in csv_rows(await export(db, flt))]
        as_text = [tuple("" if v is None else str(v) for v in row) for row in expected]
        assert as_csv == as_text
        as_jsonl = jsonl_rows(await export(db, flt, fmt="jsonl"))
        for record, row in zip(as_jsonl, expected, strict=True):
            for name, value in zip(COLUMNS, row, strict=True):
                if name in JSON_COLUMNS:
                    assert record[name] == (json.loads(value) if value else [])
                elif name in JSON_OBJECT_COLUMNS:
                    assert record[name] == (json.loads(value) if value else None)
                else:
                    assert record[name] == value


async def test_empty_text_and_missing_values_differ_in_csv(db):
    await populate(db)
    raw = (await export(db)).decode("utf-8-sig")
    line = next(ln for ln in raw.split("\r\n") if ln.startswith("rybar,1001,6,"))
    assert ',"",' in line          # text "" is quoted; NULL views etc. are empty


async def test_jsonl_values_and_links(db):
    await populate(db)
    rows = {(r["channel_id"], r["message_id"]): r
            for r in jsonl_rows(await export(db, fmt="jsonl"))}
    photo = rows[(1001, 20)]
    assert photo["channel"] == "rybar" and photo["url"] == "https://t.me/rybar/20"
    assert photo["views"] == 1500 and photo["forwards"] == 12 and photo["replies"] == 3
    assert photo["reactions"] == [{"emoji": "🔥", "count": 40}, {"emoji": "👍", "count": 2}]
    assert photo["entities"] == [{"type": "bold", "offset": 0, "length": 6}]
    assert (photo["media_kind"], photo["media_size"]) == ("photo", 123456)
    assert photo["forwarded_from"] == 'Источник, "в кавычках"'
    assert photo["forwarded_from_channel_id"] == 3003
    assert (photo["reply_to_id"], photo["grouped_id"], photo["author"]) == (5, 777, "Иван")
    private = rows[(2002, 7)]
    assert private["channel"] == "2002" and private["url"] == "https://t.me/c/2002/7"
    assert private["captured_via"] == "import"
    edited = rows[(1001, 1)]
    assert edited["version"] == 2 and edited["edit_date"] == "2024-03-12T08:00:00Z"
    assert edited["version_seen_at"] == "2024-03-12T09:00:00Z"
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    assert all(iso.fullmatch(r["date"]) for r in rows.values())
    assert all(r["deleted_at"] is None for r in rows.values())


async def test_rows_are_oldest_first(db):
    await populate(db)
    rows = jsonl_rows(await export(db, fmt="jsonl"))
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)


async def test_deleted_posts_excluded_by_default(db):
    await populate(db)
    default = {r["message_id"] for r in jsonl_rows(await export(db, fmt="jsonl"))
               if r["channel_id"] == 1001}
    included = jsonl_rows(await export(db, ExportFilter(deleted="include"), fmt="jsonl"))
    only = jsonl_rows(await export(db, ExportFilter(deleted="only"), fmt="jsonl"))
    assert 2 not in default
    assert len(included) == len(default) + 1 + 1          # + the deleted one + private
    assert [(r["message_id"], r["deleted_at"], r["text"]) for r in only] == \
        [(2, "2024-03-12T11:00:00Z", TRICKY[1])]


async def test_versions_give_one_row_per_version(db):
    await populate(db)
    rows = jsonl_rows(await export(db, ExportFilter(versions=True, channel_ids=(1001,)),
                                   fmt="jsonl"))
    first = [r for r in rows if r["message_id"] == 1]
    assert [(r["version"], r["text"], r["edit_date"], r["version_seen_at"]) for r in first] == [
        (1, TRICKY[0], None, "2024-03-12T06:00:00Z"),
        (2, "Бойцы вышли из Тёткино", "2024-03-12T08:00:00Z", "2024-03-12T09:00:00Z"),
    ]
    assert len(rows) == len(TRICKY) - 1 + 1 + 1     # posts but the deleted one, + version 2


async def test_the_channel_filter_keeps_only_that_channels_posts(db):
    await populate(db)
    rows = jsonl_rows(await export(db, ExportFilter(channel_ids=(2002,)), fmt="jsonl"))
    assert [(r["channel_id"], r["message_id"]) for r in rows] == [(2002, 7)]


async def test_date_filters_include_the_named_day_and_second(db):
    await populate(db)

    async def ids(since=None, until=None):
        flt = ExportFilter(since=parse_when(since, "--since") if since else None,
                           before=parse_when(until, "--until", end=True) if until else None)
        return [(r["channel_id"], r["message_id"])
                for r in jsonl_rows(await export(db, flt, fmt="jsonl"))]

    assert await ids(since="2024-03-13") == [(2002, 7)]
    assert await ids(until="2024-03-12") == [(1001, m) for m in (1, 3, 4, 5, 6, 20)]
    assert await ids(since="2024-03-12T05:02:00", until="2024-03-12T05:03:00Z") == \
        [(1001, 3), (1001, 4)]
    assert await ids(since="2024-03-12T08:02+03:00", until="2024-03-12T05:04:59") == \
        [(1001, 3), (1001, 4), (1001, 5)]


async def test_search_uses_the_full_text_index(db):
    await populate(db)

    async def found(text):
        flt = ExportFilter(search=fts_query(text), deleted="include")
        return [r["message_id"] for r in jsonl_rows(await export(db, flt, fmt="jsonl"))]

    assert await found("Тёткино") == [1]            # ё and е, any case
    assert await found("теткино вышли") == [1]
    assert await found("ТЁТКИНО бой") == []          # the old text is not searched
    assert await found("цитат*") == [2]
    # FTS syntax in user text is plain words: no syntax error, no operator
    assert await found('"Мы здесь"') == [2]
    assert await found("(здесь) сказал: -он ^100%") == [2]
    assert await found("здесь NOT правда") == []
    assert await found("формула") == [4]


def test_fts_query_quotes_words():
    assert fts_query('Тёткино "OR" x*') == '"Теткино" "OR" "x" *'
    assert fts_query("Санкт-Петербург 12:30 ку́рск*") == \
        '"Санкт" "Петербург" "12" "30" "курск" *'   # stress mark normalised away
    with pytest.raises(ExportOptionError, match="no word"):
        fts_query(" !!! * ")


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2024-03-12", False, datetime(2024, 3, 12, tzinfo=UTC)),
    ("2024-03-12", True, datetime(2024, 3, 13, tzinfo=UTC)),
    ("2024-03-12T05:17", False, datetime(2024, 3, 12, 5, 17, tzinfo=UTC)),
    ("2024-03-12T05:17:00Z", True, datetime(2024, 3, 12, 5, 17, 1, tzinfo=UTC)),
    ("2024-03-12 08:17:00+03:00", False, datetime(2024, 3, 12, 5, 17, tzinfo=UTC)),
    ("2024-03-12T05:17:00.5", False, datetime(2024, 3, 12, 5, 17, 1, tzinfo=UTC)),
])
def test_dates_and_times_people_type_become_moments(text, end, expected):
    assert parse_when(text, "--since", end=end) == expected


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "12.03.2024", "2024-03-12T25:00"])
def test_parse_when_names_the_option_and_the_forms(text):
    with pytest.raises(DateOptionError, match=r"--until .* YYYY-MM-DD or an ISO 8601"):
        parse_when(text, "--until")


def test_an_unknown_export_format_is_refused_by_name():
    with pytest.raises(ExportOptionError, match="unknown export format 'xml'"):
        make_writer("xml", io.BytesIO())
