"""`rules test` and `digest` over their default window (the last 30 days, the last 24
hours) when it holds nothing: they say how many older posts the log holds and the
options that reach them."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from clikit import RYBAR, cli, hourly, make_log

START = datetime(2024, 3, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


@pytest.fixture
def log(tmp_path):
    return make_log(tmp_path / "log.db", hourly(RYBAR, START, 48, "Курск: сводка {n}"))


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("tgmon: note: ")]


def test_rules_test_over_an_empty_default_window_points_at_older_posts(capsys, log):
    code, out, err = cli(capsys, "rules", "test", "Курск", "--db", str(log))
    assert code == 0, err
    assert "matched: 0 of 0 stored posts" in out
    [note] = notes(err)
    assert "48 older posts" in note and "2024-03-10" in note and "2024-03-11" in note
    assert "--since 2024-03-10" in note
    # the option it names reaches them
    code, out, _ = cli(capsys, "rules", "test", "Курск", "--db", str(log), "--since",
                       "2024-03-10")
    assert "matched: 48 of 48 stored posts" in out
    # with --json the note goes to stderr too, and stdout stays JSON (empty)
    code, out, err = cli(capsys, "rules", "test", "Курск", "--db", str(log), "--json")
    assert (code, out) == (0, "") and len(notes(err)) == 1


def test_rules_test_with_a_window_asked_for_adds_no_note(capsys, log):
    code, _, err = cli(capsys, "rules", "test", "Курск", "--db", str(log), "--since",
                       "2025-01-01")
    assert code == 0 and notes(err) == []


def test_digest_over_an_empty_default_window_points_at_older_posts(capsys, log):
    code, out, err = cli(capsys, "digest", "--db", str(log))
    assert code == 0, err
    assert "0 posts" in out
    [note] = notes(err)
    assert "48 older posts" in note
    assert "--since 2024-03-10 --until 2024-03-11" in note
    code, out, err = cli(capsys, "digest", "--db", str(log), "--since", "2024-03-10",
                         "--until", "2024-03-11")
    assert code == 0 and "48 posts" in out and notes(err) == []


def test_an_empty_log_gets_no_note(capsys, tmp_path):
    empty = make_log(tmp_path / "empty.db", [])
    for command in (["rules", "test", "Курск"], ["digest"]):
        code, _, err = cli(capsys, *command, "--db", str(empty))
        assert code == 0 and notes(err) == [], err
