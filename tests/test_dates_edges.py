"""Dates at the edges of what Python's datetime holds: ``--until 9999-12-31`` and
``--since 0001-01-01`` mean "no bound" (clamped), never an OverflowError."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from clikit import RYBAR, assert_one_line_error, cli, hourly, make_log

from config.dates import parse_when

START = datetime(2024, 3, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


@pytest.fixture
def log(tmp_path):
    return make_log(tmp_path / "log.db", hourly(RYBAR, START, 48, "Тёткино: сводка {n}"))


@pytest.mark.parametrize(("value", "end", "expected"), [
    ("9999-12-31", True, datetime.max.replace(tzinfo=UTC)),
    ("9999-12-31T23:59:59Z", True, datetime.max.replace(tzinfo=UTC)),
    ("9999-12-31T23:59:59.5", False, datetime.max.replace(tzinfo=UTC)),
    ("0001-01-01T00:00:00+05:00", False, datetime.min.replace(tzinfo=UTC)),
    ("0001-01-01", False, datetime.min.replace(tzinfo=UTC)),
])
def test_edge_dates_are_clamped_to_what_datetime_holds(value, end, expected):
    assert parse_when(value, "--until" if end else "--since", end=end) == expected


def test_a_zone_ahead_of_utc_at_the_last_day_is_clamped():
    from zoneinfo import ZoneInfo
    assert parse_when("9999-12-31", "--until", end=True, tz=ZoneInfo("Asia/Tokyo")) == \
        datetime.max.replace(tzinfo=UTC)


def test_export_with_edge_dates_exports_everything(capsys, log):
    code, out, err = cli(capsys, "export", "--format", "jsonl", "--db", str(log),
                         "--since", "0001-01-01", "--until", "9999-12-31")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 48
    code, out, err = cli(capsys, "export", "--format", "jsonl", "--db", str(log),
                         "--until", "9999-12-31T23:59:59")
    assert (code, len(out.splitlines())) == (0, 48)


def test_rules_test_with_edge_dates(capsys, log):
    code, out, err = cli(capsys, "rules", "test", "Тёткино", "--db", str(log),
                         "--until", "9999-12-31", "--since", "0001-01-01")
    assert code == 0, err
    assert "matched: 48 of 48 stored posts" in out
    # only --until: the 30 days before the end of time hold nothing, and it says so
    code, out, err = cli(capsys, "rules", "test", "Тёткино", "--db", str(log),
                         "--until", "9999-12-31")
    assert code == 0, err
    assert "matched: 0 of 0 stored posts" in out
    code, out, err = cli(capsys, "rules", "test", "Тёткино", "--db", str(log), "--json",
                         "--until", "0001-01-02")
    assert (code, out) == (0, "")
    code, out, err = cli(capsys, "rules", "test", "Тёткино", "--db", str(log), "--json",
                         "--since", "2024-03-11", "--until", "9999-12-31")
    assert code == 0 and len([json.loads(line) for line in out.splitlines()]) == 24


def test_digest_with_edge_dates(capsys, log, monkeypatch):
    # --until beyond what datetime holds: up to now (here, the day after the log)
    monkeypatch.setattr("bot.cli.digest.utcnow", lambda: datetime(2024, 3, 12, tzinfo=UTC))
    code, out, err = cli(capsys, "digest", "--db", str(log), "--until", "9999-12-31")
    assert code == 0, err
    assert "Рыбарь — 24 posts" in out
    code, out, err = cli(capsys, "digest", "--db", str(log), "--since", "0001-01-01",
                         "--until", "2024-03-11")
    assert code == 0, err
    assert "a digest covers at most 7 days" in err
    assert "Рыбарь — 48 posts" in out
    for options, needle in [
            (["--since", "0001-01-01", "--until", "0001-01-01"], "before Telegram existed"),
            (["--since", "9999-12-30", "--until", "9999-12-31"], "is after now"),
            (["--since", "9999-12-31"], "is after now"),
            (["--since", "2024-03-12", "--until", "2024-03-11"], "the period is empty")]:
        code, out, err = cli(capsys, "digest", "--db", str(log), *options)
        assert_one_line_error(code, out, err, needle)
