"""``tgmon digest``: text and HTML output, files, channel filters and clear errors."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clikit import cli

from storage.db import open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import mark_deleted, save_posts

RYBAR = Channel(1001, "rybar", "Рыбарь")
GOVERNOR = Channel(1002, "vvgladkov", "Гладков <губернатор>")
T0 = datetime(2024, 3, 12, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "tgmon.db"

    async def fill() -> None:
        db = await open_database(path)
        try:
            await save_posts(db, [Post(RYBAR.channel_id, i, h(i), f"Сводка {i}: Тёткино",
                                       views=100 * i, forwards=i % 3) for i in range(1, 20)],
                             CapturePath.LIVE, h(0), channel=RYBAR)
            await save_posts(db, [Post(GOVERNOR.channel_id, 1, h(23.5), "Ночная атака & <БПЛА>",
                                       views=5000)], CapturePath.LIVE, h(0), channel=GOVERNOR)
            async with db.transaction() as conn:
                await mark_deleted(conn, RYBAR.channel_id, [4], h(6))
        finally:
            await db.close()

    asyncio.run(fill())
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    return cli(capsys, "digest", *args)


def test_text_digest_of_a_day(log, capsys):
    code, out, err = run(capsys, "--db", str(log), "--since", "2024-03-12", "--until",
                         "2024-03-12", "--tz", "Europe/Moscow")
    assert code == 0, err
    assert "12 Mar 2024 03:00 – 13 Mar 2024 03:00 (Europe/Moscow)" in out
    assert "20 posts in 2 channels" in out
    assert "Рыбарь — 19 posts  https://t.me/rybar" in out
    assert "https://t.me/rybar/19" in out                       # the most viewed
    # 23:30 UTC in Moscow; a digest of 2024 read in a later year: dates carry the year
    assert "13 Mar 2024 02:30 Ночная атака & <БПЛА>" in out
    assert "deleted (noticed 12 Mar 2024 09:00): Сводка 4: Тёткино  https://t.me/rybar/4" in out


def test_dates_of_the_current_year_leave_the_year_out(log, capsys, monkeypatch):
    monkeypatch.setattr("bot.cli.digest.utcnow", lambda: datetime(2024, 6, 1, tzinfo=UTC))
    code, out, err = run(capsys, "--db", str(log), "--since", "2024-03-12", "--until",
                         "2024-03-12", "--tz", "Europe/Moscow")
    assert code == 0, err
    assert "13 Mar 02:30 Ночная атака & <БПЛА>" in out
    assert "deleted (noticed 12 Mar 09:00): Сводка 4: Тёткино  https://t.me/rybar/4" in out


def test_channel_filter_by_username_or_id(log, capsys):
    code, out, _ = run(capsys, "--db", str(log), "--since", "2024-03-12", "--until",
                       "2024-03-12", "--channel", "@VVGLADKOV")
    assert code == 0
    assert "1 post in 1 channel" in out and "rybar" not in out
    code, out, _ = run(capsys, "--db", str(log), "--since", "2024-03-12", "--until",
                       "2024-03-12", "--channel", "-1001001", "--channel", "vvgladkov")
    assert code == 0 and "20 posts in 2 channels" in out


def test_html_page_to_a_file_with_the_chart(log, capsys, tmp_path):
    target = tmp_path / "digest.html"
    target.write_text("old content")
    code, out, err = run(capsys, "--db", str(log), "--since", "2024-03-12T00:00",
                         "--until", "2024-03-13T00:00Z", "--format", "html", "--output",
                         str(target))
    assert code == 0 and out == ""
    assert f"wrote the digest to {target}" in err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Гладков &lt;губернатор&gt;" in page
    assert '<a href="https://t.me/vvgladkov/1">' in page
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert data is not None
    assert base64.b64decode(data.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.glob(".digest.html.*")) == []           # no temporary file left


def test_a_long_request_is_capped_to_seven_days_with_a_note(log, capsys):
    code, out, err = run(capsys, "--db", str(log), "--since", "2024-01-01", "--until",
                         "2024-03-12")
    assert code == 0
    assert "a digest covers at most 7 days" in err and "2024-03-06 00:00" in err
    assert "20 posts in 2 channels" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--channel", "nosuchchannel"], "unknown channel 'nosuchchannel': it is not in the log "
                                     "(known channels: @rybar, @vvgladkov)"),
    (["--since", "12.03.2024"], "--since '12.03.2024' is not a date"),
    (["--since", "2024-03-13", "--until", "2024-03-12"], "the period is empty"),
    (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--output", "/nonexistent-dir/x.html"], "the folder /nonexistent-dir does not exist"),
])
def test_errors_are_one_clear_line(log, capsys, args, message):
    code, out, err = run(capsys, "--db", str(log), *args)
    assert code == 1 and out == ""
    assert err.startswith("tgmon: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_database_is_an_error_not_a_new_file(tmp_path, capsys):
    path = tmp_path / "none.db"
    code, _, err = run(capsys, "--db", str(path))
    assert code == 1 and "no database at" in err
    assert not path.exists()
