"""``tgmon rules test`` and ``try_rule`` over a real SQLite log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from bot.cli import main
from bot.rules import RuleSyntaxError
from bot.rules.trial import default_period, try_rule
from storage.db import open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, save_posts

T0 = datetime(2024, 8, 20, 12, 0, tzinfo=UTC)
LEGION = Channel(1001, "legionoffreedom", "Легион «Свобода России»")
GOVERNOR = Channel(1002, "gubernator_46", "Губернатор Курской области")
PRIVATE = Channel(1003, None, "Закрытый канал")

POSTS = [   # (channel, message id, age, text)
    (LEGION, 10, timedelta(hours=1), "Бои у Тёткине продолжаются"),
    (GOVERNOR, 20, timedelta(hours=2), "Обстрел Курской области: ранены двое"),
    (PRIVATE, 30, timedelta(hours=3), "Ситуация в Курске под контролем"),
    (LEGION, 11, timedelta(days=2), "Танкер в порту, Курск спокоен"),
    (GOVERNOR, 21, timedelta(days=3), "Погода в Белгороде"),
    (LEGION, 12, timedelta(days=40), "Старый пост про Курск"),
]


async def fill(path: Path) -> None:
    db = await open_database(path)
    try:
        for channel, mid, age, text in POSTS:
            post = Post(channel_id=channel.channel_id, message_id=mid, date=T0 - age, text=text)
            await save_posts(db, [post], CapturePath.LIVE, T0 - age, channel=channel)
        async with db.transaction() as conn:
            await mark_deleted(conn, LEGION.channel_id, [11], T0)
    finally:
        await db.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "tgmon.db"
    asyncio.run(fill(path))
    return path


def run(log: Path, *args: str) -> int:
    return main(["rules", "test", *args, "--db", str(log)])


def period(days: int = 30) -> list[str]:
    return ["--since", (T0 - timedelta(days=days)).isoformat(), "--until", T0.isoformat()]


def test_json_lists_every_matching_post_newest_first(log, capsys):
    assert run(log, "Курск OR Kursk", "--json", *period()) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"channel": "gubernator_46", "channel_id": 1002, "message_id": 20,
         "date": "2024-08-20T10:00:00Z", "url": "https://t.me/gubernator_46/20"},
        {"channel": "1003", "channel_id": 1003, "message_id": 30,
         "date": "2024-08-20T09:00:00Z", "url": "https://t.me/c/1003/30"},
        {"channel": "legionoffreedom", "channel_id": 1001, "message_id": 11,
         "date": "2024-08-18T12:00:00Z", "url": "https://t.me/legionoffreedom/11"},
    ]


def test_the_period_bounds_the_search(log, capsys):
    assert run(log, "Курск", "--json", *period(days=60)) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4       # the 40-day-old post too
    assert run(log, "Курск", "--json", "--since", "2024-08-19", "--until", "2024-08-20") == 0
    ids = [json.loads(x)["message_id"] for x in capsys.readouterr().out.splitlines()]
    assert ids == [20, 30]                                     # --until DAY includes that day


def test_channel_rules_and_word_forms(log, capsys):
    assert run(log, "from:@LegionOfFreedom бой OR Tyotkino", "--json", *period()) == 0
    assert [json.loads(x)["message_id"] for x in capsys.readouterr().out.splitlines()] == [10]
    assert run(log, "танк", "--json", *period()) == 0            # not the танкер
    assert capsys.readouterr().out == ""


def test_summary_counts_and_shows_the_latest_matches(log, capsys):
    assert run(log, "Курск", "--limit", "2", *period()) == 0
    out = capsys.readouterr().out
    assert "matched: 3 of 5 stored posts, 1 of them deleted since" in out
    assert "https://t.me/gubernator_46/20" in out and "https://t.me/c/1003/30" in out
    assert "legionoffreedom/11" not in out                      # beyond --limit
    assert "why: Курск (Курской)" in out


def test_deleted_posts_are_marked(log, capsys):
    assert run(log, "Танкер", *period()) == 0
    out = capsys.readouterr().out
    assert "https://t.me/legionoffreedom/11  [deleted]" in out


def test_default_period_is_the_last_30_days(log, capsys):
    with time_machine.travel(T0, tick=False):
        assert run(log, "Курск", "--json") == 0
    ids = [json.loads(x)["message_id"] for x in capsys.readouterr().out.splitlines()]
    assert ids == [20, 30, 11]                                 # not the 40-day-old one


def test_a_malformed_rule_exits_non_zero_with_the_positioned_error(log, capsys):
    assert run(log, "курск (танк OR бой") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "tgmon: error: unclosed parenthesis opened at column 7",
        "курск (танк OR бой",
        "      ^",
    ]


def test_bad_dates_and_missing_database_are_clear_errors(log, tmp_path, capsys):
    assert run(log, "Курск", "--since", "20.08.2024") == 1
    assert "--since '20.08.2024' is not a date" in capsys.readouterr().err
    assert run(log, "Курск", "--since", "2024-08-20", "--until", "2024-08-01") == 1
    assert "must be before --until" in capsys.readouterr().err
    assert main(["rules", "test", "Курск", "--db", str(tmp_path / "none.db")]) == 1
    assert "no database at" in capsys.readouterr().err


async def test_try_rule_counts_and_keeps_the_newest(db):
    for channel, mid, age, text in POSTS:
        post = Post(channel_id=channel.channel_id, message_id=mid, date=T0 - age, text=text)
        await save_posts(db, [post], CapturePath.LIVE, T0 - age, channel=channel)
    since, until = default_period(T0)
    assert (since, until) == (T0 - timedelta(days=30), T0)
    trial = await try_rule(db, "Курск", since, until, limit=2)
    assert (trial.scanned, trial.matched, trial.deleted) == (5, 3, 0)
    assert [(f.post.channel.username, f.post.post.message_id) for f in trial.latest] == [
        ("gubernator_46", 20), (None, 30)]
    text = trial.latest[0].post.post.text
    assert [text[s:e] for s, e in trial.latest[0].match.spans] == ["Курской"]
    with pytest.raises(RuleSyntaxError):
        await try_rule(db, "NOT", T0 - timedelta(days=30), T0)
