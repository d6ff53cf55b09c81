"""An export stopped half-way leaves no partial file: SIGTERM removes it as Ctrl-C
does, and the next export to the same name removes the ones a kill -9 left."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from clikit import ROOT, RYBAR, clean_environ, cli, hourly, make_log

# More rows than one batch of the export (5000), so the export is still reading when
# the first batch is written.
ROWS = 6000
# Runs `tgmon export`, sending itself SIGTERM once the first rows are written.
TERMINATED_MID_EXPORT = """
import os, signal, sys
import storage.export as export
write = export.CsvWriter.write
def write_then_terminate(self, rows):
    write(self, rows)
    os.kill(os.getpid(), signal.SIGTERM)
export.CsvWriter.write = write_then_terminate
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


@pytest.fixture
def log(tmp_path):
    return make_log(tmp_path / "log.db",
                    hourly(RYBAR, datetime(2024, 1, 1, tzinfo=UTC), ROWS, "Пост {n}"))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_sigterm_removes_the_partial_file_and_keeps_the_previous_one(tmp_path, log):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "posts.csv"
    target.write_text("the previous export")
    done = subprocess.run(
        [sys.executable, "-c", TERMINATED_MID_EXPORT, "export", "--db", str(log),
         "--output", str(target)],
        cwd=tmp_path, env={**clean_environ(), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr.strip().splitlines() == ["tgmon: terminated"]
    assert leftovers(out) == []
    assert target.read_text() == "the previous export"


def test_the_next_export_removes_stale_partial_files_of_its_name(capsys, tmp_path, log):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".posts.csv.k9x1ab.part"           # left by a kill -9
    stale.write_bytes(b"x" * 1000)
    other = out / ".other.csv.k9x1ab.part"           # another export's: not ours
    other.write_bytes(b"y")
    live = out / ".posts.csv.live01.part"            # an export still running
    live.write_bytes(b"z")
    fd = os.open(live, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        code, _, err = cli(capsys, "export", "--db", str(log), "--output",
                           str(out / "posts.csv"))
    finally:
        os.close(fd)
    assert code == 0, err
    assert leftovers(out) == [".other.csv.k9x1ab.part", ".posts.csv.live01.part"]
    assert "removed 1 partial file" in err
    assert len((out / "posts.csv").read_text(encoding="utf-8-sig").splitlines()) == ROWS + 1
