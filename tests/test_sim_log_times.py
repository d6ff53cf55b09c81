"""The simulated run's log lines carry the scenario's clock: its time zone, with the
offset written out (a scenario without one runs in UTC, +00:00)."""

from __future__ import annotations

import json
import os
import re

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


def scenario(path, offset: str):
    path.write_text(json.dumps({
        "start": f"2024-03-12T00:00:00{offset}", "end": f"2024-03-12T06:00:00{offset}",
        "channels": [{"id": 77, "username": "gubernator_46", "title": "Губернатор"}],
        "events": [{"at": f"2024-03-12T04:05:00{offset}",
                    "post": {"channel": "gubernator_46", "id": 1, "text": "отбой"}}]}),
        encoding="utf-8")
    return path


@pytest.mark.parametrize(("offset", "shown"), [("+03:00", "+03:00"), ("", "+00:00")])
def test_log_lines_are_in_the_scenarios_zone(capsys, tmp_path, offset, shown):
    assert main(["run", "--simulate", str(scenario(tmp_path / "s.json", offset))]) == 0
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if "post gubernator_46/1" in x]
    assert re.match(r"2024-03-12 04:05:00(\.\d+)?" + re.escape(shown) + " INFO ", line), line
