"""``data/`` (and any directory tgmon makes for the database or the session files) is
created readable by its owner only, at every level, on every path."""

from __future__ import annotations

import os
import stat

import pytest
from clikit import cli

from bot.watcher.session import SessionLock
from tests.exportkit import CHANNEL


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_import_with_the_default_database(capsys, tmp_path):
    assert cli(capsys, "import", str(CHANNEL))[0] == 0
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "tgmon.db") == 0o600


def test_every_new_level_of_a_database_path(capsys, tmp_path):
    assert cli(capsys, "import", str(CHANNEL), "--db", "a/b/log.db")[0] == 0
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_every_new_level_of_the_session_directory(tmp_path):
    lock = SessionLock(tmp_path / "data" / "sessions" / "user").acquire()
    try:
        assert mode(tmp_path / "data") == 0o700
        assert mode(tmp_path / "data" / "sessions") == 0o700
    finally:
        lock.release()


def test_an_existing_directory_is_left_as_it_is(capsys, tmp_path):
    (tmp_path / "shared_dir").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared_dir", 0o755)
    assert cli(capsys, "import", str(CHANNEL), "--db", "shared_dir/log.db")[0] == 0
    assert mode(tmp_path / "shared_dir") == 0o755
    assert mode(tmp_path / "shared_dir" / "log.db") == 0o600
