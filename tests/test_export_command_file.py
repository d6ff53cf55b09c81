"""/export's pieces without Telegram: reading its words (pure) and building the file
(gzip over a threshold, a hard size cap, the same bytes every time)."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands.export_args import ExportArgsError, parse_export_args
from storage.channels import save_channel
from storage.export import ExportFilter, export_rows, make_writer
from storage.export_file import ExportTooLarge, build_export_file
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts

NOW = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")


def test_defaults_are_csv_every_channel_and_the_last_7_days():
    req = parse_export_args("", NOW, MSK)
    assert (req.fmt, req.channel, req.since, req.until, req.deleted) == \
        ("csv", None, NOW - timedelta(days=7), NOW, False)


@pytest.mark.parametrize("words", [
    "jsonl rybar 30d deleted", "deleted 30d @rybar JSONL", "https://t.me/rybar 30d jsonl deleted",
    "t.me/rybar/ deleted jsonl 30d",
])
def test_words_in_any_order(words):
    req = parse_export_args(words, NOW, MSK)
    assert (req.fmt, req.channel, req.since, req.deleted) == \
        ("jsonl", "rybar", NOW - timedelta(days=30), True)


def test_periods_and_dates_in_the_chats_zone():
    assert parse_export_args("12h", NOW, MSK).since == NOW - timedelta(hours=12)
    assert parse_export_args("2w", NOW, MSK).since == NOW - timedelta(weeks=2)
    # a date is midnight in the chat's zone; a time without offset too; an offset wins
    assert parse_export_args("since 2024-03-11", NOW, MSK).since == \
        datetime(2024, 3, 10, 21, tzinfo=UTC)
    assert parse_export_args("since 2024-03-11T08:00", NOW, MSK).since == \
        datetime(2024, 3, 11, 5, tzinfo=UTC)
    assert parse_export_args("since 2024-03-11T08:00+00:00", NOW, MSK).since == \
        datetime(2024, 3, 11, 8, tzinfo=UTC)


def test_a_channel_named_like_a_keyword_is_written_with_at():
    req = parse_export_args("@deleted csv", NOW, MSK)
    assert (req.channel, req.fmt, req.deleted) == ("deleted", "csv", False)


@pytest.mark.parametrize(("words", "problem"), [
    ("csv jsonl", "Two formats"), ("rybar wargonzo", "Two channels"), ("7d 30d", "Two periods"),
    ("since", "since needs a date"), ("since yesterday", "is not a date"),
    ("since 2024-03-12T09:00", "not in the past"), ("0h", "empty period"), ("@", "@ alone"),
])
def test_bad_words_are_refused_with_the_usage(words, problem):
    with pytest.raises(ExportArgsError, match=problem) as caught:
        parse_export_args(words, NOW, MSK)
    assert "Usage: /export" in str(caught.value)


async def fill(db, n: int) -> None:
    legion = Channel(777, "legionoffreedom", "Легион")
    await save_channel(db, legion, NOW)
    posts = [Post(777, i, NOW - timedelta(minutes=i), f"Сводка {i}: " + "обстрел; " * 20,
                  views=i) for i in range(1, n + 1)]
    await save_posts(db, posts, CapturePath.LIVE, NOW)


async def plain(db, flt, fmt):
    out = io.BytesIO()
    await export_rows(db, flt, make_writer(fmt, out))
    return out.getvalue()


async def test_small_files_are_plain_and_large_ones_gzipped(db):
    await fill(db, 500)
    flt = ExportFilter()
    expected = await plain(db, flt, "jsonl")
    small = await build_export_file(db, flt, "jsonl", gzip_over=len(expected), batch=64)
    assert (small.gzipped, small.rows, small.data) == (False, 500, expected)
    packed = await build_export_file(db, flt, "jsonl", gzip_over=len(expected) - 1, batch=64)
    assert packed.gzipped and packed.raw_size == len(expected)
    assert gzip.decompress(packed.data) == expected
    # the same rows give the same bytes (no time stamp in the gzip header)
    again = await build_export_file(db, flt, "jsonl", gzip_over=1000, batch=100)
    assert again.data == packed.data
    csv = await build_export_file(db, flt, "csv", gzip_over=1000)
    assert gzip.decompress(csv.data) == await plain(db, flt, "csv")


async def test_a_file_over_the_cap_is_refused_before_it_is_finished(db):
    await fill(db, 2000)
    with pytest.raises(ExportTooLarge) as caught:
        await build_export_file(db, ExportFilter(), "csv", gzip_over=1000, limit=5000,
                                batch=100)
    assert caught.value.rows < 2000                     # it stopped early


async def test_an_empty_export_has_no_rows(db):
    await fill(db, 3)
    empty = await build_export_file(db, ExportFilter(since=NOW), "csv")
    assert empty.rows == 0 and not empty.gzipped


def test_the_shared_date_parser_reads_times_without_offset_in_the_zone_given():
    from config.dates import parse_when

    assert parse_when("2024-03-12", "--until", end=True, tz=MSK) == \
        datetime(2024, 3, 12, 21, tzinfo=UTC)
    assert parse_when("2024-03-12T08:00", "since", tz=MSK) == datetime(2024, 3, 12, 5, tzinfo=UTC)
    assert parse_when("2024-03-12", "--since") == datetime(2024, 3, 12, tzinfo=UTC)
    with pytest.raises(Exception, match="no offset means Europe/Moscow"):
        parse_when("soon", "since", tz=MSK)
