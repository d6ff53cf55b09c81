"""``tgmon export | head``: a reader that goes away ends the command quietly, as
command-line tools do on a closed pipe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from clikit import RYBAR, hourly, make_log, tgmon_process


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    # ~2 MB of CSV: far more than a pipe holds, so the writer meets the closed pipe
    text = "Пост {n}: " + "обстрел в районе Тёткино, " * 12
    return make_log(tmp_path_factory.mktemp("pipes") / "log.db",
                    hourly(RYBAR, datetime(2024, 1, 1, tzinfo=UTC), 5000, text))


@pytest.mark.parametrize("argv", [
    ["export"],
    ["export", "--format", "jsonl"],
    ["rules", "test", "Тёткино", "--json", "--since", "2024-01-01", "--until", "2024-12-31"],
])
def test_a_closed_pipe_ends_the_command_quietly(big_log, tmp_path, argv):
    proc = tgmon_process([*argv, "--db", str(big_log)], cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()               # what `head -1` reads, then it goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert first
    # no "Task exception was never retrieved" (a note, say on the word index, may be)
    assert [line for line in err.splitlines() if not line.startswith("tgmon: note:")] == []
    assert code == 0
