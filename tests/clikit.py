"""Running ``tgmon`` commands in tests: in process (``cli``) or as a child process
(``tgmon_process``), on a log made for the test (``make_log``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli import main
from storage.db import open_database
from storage.models import CapturePath, Channel, Post
from storage.posts import save_posts

ROOT = Path(__file__).resolve().parents[1]
RYBAR = Channel(1001, "rybar", "Рыбарь")


def cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> str:
    """A refusal: status 1, nothing on stdout, one ``tgmon: error:`` line on stderr."""
    assert code == 1, (code, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tgmon: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def clean_environ() -> dict[str, str]:
    """The environment without the developer's TGMON_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TGMON_")}


def _child_env() -> dict[str, str]:
    return {**clean_environ(), "PYTHONPATH": str(ROOT)}


def tgmon_process(argv: Sequence[str], cwd: Path, **kw: Any) -> subprocess.Popen[bytes]:
    """``tgmon ARGV`` as a child process (``python -m bot``), pipes on its outputs."""
    return subprocess.Popen([sys.executable, "-m", "bot", *argv], cwd=cwd, env=_child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def tgmon_run(argv: Sequence[str], cwd: Path, *, prefix: Sequence[str] = (),
              timeout: float = 300) -> tuple[int, str, str]:
    """``tgmon ARGV`` run to its end as a child process (after ``prefix``, e.g. a
    command that drops privileges): its status, standard output and error."""
    done = subprocess.run([*prefix, sys.executable, "-m", "bot", *argv], cwd=cwd,
                          env=_child_env(), capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def hourly(channel: Channel, start: datetime, count: int, text: str = "Пост {n} о Курске",
           first_id: int = 1, **fields: Any) -> list[Post]:
    return [Post(channel.channel_id, first_id + n, start + timedelta(hours=n),
                 text.format(n=n), **fields) for n in range(count)]


def make_log(path: Path, posts: Sequence[Post], channel: Channel = RYBAR,
             via: CapturePath = CapturePath.LIVE) -> Path:
    """A database at ``path`` holding ``posts`` (of ``channel``)."""
    async def build() -> None:
        db = await open_database(path)
        try:
            at = datetime(2024, 3, 12, 5, tzinfo=UTC)
            for i in range(0, len(posts), 1000):
                await save_posts(db, posts[i:i + 1000], via, at, channel=channel)
        finally:
            await db.close()
    asyncio.run(build())
    return path
