"""Where the database cannot be written, or is being written by someone else: one line
each, nothing changed. Reading commands work on a read-only database as it is, and a
database tgmon refuses is left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clikit import RYBAR, assert_one_line_error, cli, hourly, make_log, tgmon_run

from tests.exportkit import CHANNEL

READING = [["export"], ["stats"], ["rules", "test", "Курск", "--since", "2024-03-01"],
           ["digest", "--since", "2024-03-10", "--until", "2024-03-11"]]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def state(path: Path) -> tuple:
    """What must not change: the bytes, the permissions, the journal mode (byte 18 of
    the header: 1 rollback journal, 2 WAL) and which files lie beside it."""
    data = path.read_bytes()
    beside = sorted(p.name for p in path.parent.iterdir())
    return (hashlib.sha256(data).hexdigest(), stat.S_IMODE(path.stat().st_mode), data[18:19],
            beside)


def posts_log(path: Path) -> Path:
    return make_log(path, hourly(RYBAR, datetime(2024, 3, 10, tzinfo=UTC), 48,
                                 "Курск: сводка {n}"))


# ---- two writers at once -------------------------------------------------------------

def test_a_second_writer_waits_then_says_the_database_is_busy(capsys, tmp_path, monkeypatch):
    import storage.db
    monkeypatch.setattr(storage.db, "BUSY_TIMEOUT_MS", 300)
    db = posts_log(tmp_path / "log.db")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")           # another process is writing
    try:
        code, out, err = cli(capsys, "import", str(CHANNEL), "--db", str(db))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = assert_one_line_error(code, out, err, str(db), "busy")
    assert "try again" in line
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 48
    assert cli(capsys, "import", str(CHANNEL), "--db", str(db))[0] == 0


def test_a_writer_waits_for_a_short_lock(capsys, tmp_path):
    db = posts_log(tmp_path / "log.db")
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        code, _, err = cli(capsys, "import", str(CHANNEL), "--db", str(db))
    finally:
        release.join()
        holder.close()
    assert code == 0, err


# ---- databases tgmon refuses are left as they were ----------------------------------------

def rollback_journal(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    return path


@pytest.mark.parametrize("command", [["import", str(CHANNEL)], *READING])
def test_a_database_of_a_newer_tgmon_is_left_as_it_was(capsys, tmp_path, command):
    db = rollback_journal(posts_log(tmp_path / "log.db"))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    db.chmod(0o644)
    before = state(db)
    code, out, err = cli(capsys, *command, "--db", str(db))
    assert_one_line_error(code, out, err, "newer tgmon", str(db))
    assert state(db) == before


@pytest.mark.parametrize("command", [["import", str(CHANNEL)], *READING])
def test_a_file_that_is_not_sqlite_is_left_as_it_was(capsys, tmp_path, command):
    db = tmp_path / "log.db"
    db.write_bytes(b"channel,text\nrybar,hello\n" * 10)
    db.chmod(0o644)
    before = state(db)
    code, out, err = cli(capsys, *command, "--db", str(db))
    assert_one_line_error(code, out, err, "not an SQLite database", str(db))
    assert state(db) == before


def test_another_programs_sqlite_database_is_not_migrated(capsys, tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    before = state(db)
    code, out, err = cli(capsys, "import", str(CHANNEL), "--db", str(db))
    assert_one_line_error(code, out, err, "not a tgmon database", "notes")
    assert state(db) == before


def test_reading_commands_do_not_change_the_journal_mode(capsys, tmp_path):
    db = rollback_journal(posts_log(tmp_path / "log.db"))
    db.chmod(0o644)
    before = state(db)
    for command in READING:
        code, _, err = cli(capsys, *command, "--db", str(db))
        assert code == 0, (command, err)
    assert state(db) == before


# ---- read-only places (run as a user the permissions apply to) ----------------------------

def unprivileged() -> list[str]:
    """A prefix that makes a child process obey file permissions: root normally ignores
    them, so it runs without the capabilities that let it."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions cannot apply")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def tgmon(cwd: Path, *argv: str) -> tuple[int, str, str]:
    return tgmon_run(argv, cwd, prefix=unprivileged())


@pytest.fixture
def locked_dir(tmp_path):
    """A directory nobody may write; writable again after the test."""
    folder = tmp_path / "ro"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)


def test_a_db_in_a_directory_that_cannot_be_written(tmp_path, locked_dir):
    locked_dir.chmod(0o555)
    code, out, err = tgmon(tmp_path, "import", str(CHANNEL), "--db",
                           str(locked_dir / "log.db"))
    assert_one_line_error(code, out, err, "cannot create the database", str(locked_dir),
                          "TGMON_DB")
    assert list(locked_dir.iterdir()) == []


def test_a_read_only_database_file_is_refused_for_writing(tmp_path):
    db = posts_log(tmp_path / "log.db")
    db.chmod(0o444)
    before = state(db)
    code, out, err = tgmon(tmp_path, "import", str(CHANNEL), "--db", str(db))
    assert_one_line_error(code, out, err, str(db), "read-only")
    assert state(db) == before


def test_a_database_in_a_read_only_directory_is_refused_for_writing(tmp_path, locked_dir):
    db = posts_log(locked_dir / "log.db")
    locked_dir.chmod(0o555)
    before = state(db)
    code, out, err = tgmon(tmp_path, "import", str(CHANNEL), "--db", str(db))
    assert_one_line_error(code, out, err, str(locked_dir), "cannot write")
    assert state(db) == before


@pytest.mark.parametrize("argv", [["import", str(CHANNEL)], ["run", "--simulate"]])
def test_a_working_directory_where_data_cannot_be_created(locked_dir, argv):
    locked_dir.chmod(0o555)
    code, out, err = tgmon(locked_dir, *argv)
    assert_one_line_error(code, out, err, "data", str(locked_dir), "TGMON_DB")
    assert list(locked_dir.iterdir()) == []


@pytest.mark.parametrize("command", READING)
def test_reading_commands_work_on_a_read_only_database(tmp_path, locked_dir, command):
    db = posts_log(locked_dir / "log.db")          # WAL, closed: no -wal or -shm beside
    db.chmod(0o444)
    locked_dir.chmod(0o555)
    before = state(db)
    code, out, err = tgmon(tmp_path, *command, "--db", str(db))
    assert code == 0, err
    assert "Курск" in out or "rybar" in out
    assert state(db) == before


def test_an_older_read_only_database_is_refused_in_one_line(tmp_path, locked_dir):
    db = posts_log(locked_dir / "log.db")
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 1")
    db.chmod(0o444)
    locked_dir.chmod(0o555)
    before = state(db)
    code, out, err = tgmon(tmp_path, "export", "--db", str(db))
    assert_one_line_error(code, out, err, "older tgmon", "writable copy")
    assert state(db) == before
