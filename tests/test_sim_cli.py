"""``tgmon run``: refusing without credentials, and ``--simulate``."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from bot.cli import main


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No TGMON_* variables and no .env: a fresh machine."""
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_without_credentials_says_what_to_set(clean_env, capsys):
    assert main(["run"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tgmon: error: ")
    assert "TGMON_API_ID" in err and "TGMON_API_HASH" in err
    assert "tgmon run --simulate" in err


def test_transcript_needs_simulate(clean_env, capsys):
    assert main(["run", "--transcript", "t.jsonl"]) == 1
    assert "--transcript only works with --simulate" in capsys.readouterr().err


def test_simulate_a_scenario_file_writes_the_transcript(clean_env, capsys):
    scenario = clean_env / "day.json"
    scenario.write_text(json.dumps({
        "start": "2024-03-12T00:00:00+03:00", "end": "2024-03-12T23:00:00+03:00",
        "channels": [{"id": 77, "username": "gubernator_46", "title": "Губернатор"}],
        "users": [{"id": 5, "first_name": "Ольга"}],
        "events": [
            {"at": "2024-03-12T04:05:00+03:00",
             "post": {"channel": "gubernator_46", "id": 1, "text": "ДРГ отбита у Тёткино"}},
            {"at": "2024-03-12T06:30:00+03:00", "message": {"from": 5, "text": "/start"}},
        ]}), encoding="utf-8")
    (clean_env / "out").mkdir()
    code = main(["run", "--simulate", str(scenario), "--transcript", "out/t.jsonl"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 new posts in 1 channels, 1 messages to the bot" in out
    assert "data/simulation.db" in out and "out/t.jsonl" in out
    lines = (clean_env / "out/t.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r["direction"], r["chat_id"]) for r in rows] == [("in", 5), ("out", 5)]
    assert rows[0]["text"] == "/start"
    # no admins or allowlist in this scenario: the bot says why it will not serve user 5
    assert "not on this bot's allowlist" in rows[1]["text"] and "/allow 5" in rows[1]["text"]
    db = clean_env / "data/simulation.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((clean_env / "data").stat().st_mode) == 0o700
    sessions = clean_env / "data/simulation-sim-sessions"
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o700
    assert stat.S_IMODE((sessions / "user.session").stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["missing/deeper/t.jsonl", "."])
def test_a_transcript_where_it_cannot_go_is_one_line_and_nothing_runs(clean_env, capsys,
                                                                       where):
    assert main(["run", "--simulate", "--transcript", where]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == ""
    assert len(lines) == 1 and lines[0].startswith("tgmon: error: --transcript"), err
    assert ("does not exist" if where != "." else "is a directory") in lines[0]
    assert not (clean_env / "missing").exists()           # no tree made for it
    assert not (clean_env / "data").exists()              # nothing was played


def test_simulate_a_bad_scenario_is_one_line(clean_env, capsys):
    bad = clean_env / "bad.json"
    bad.write_text('{"start": "2024-03-12T00:00:00", "end": "2024-03-12T01:00:00", '
                   '"channels": [{"id": 1, "username": "legionoffreedom", "title": "L"}], '
                   '"events": [{"at": "2024-03-12T00:10:00", "post": '
                   '{"channel": "foo", "id": 1, "text": "x"}}]}', encoding="utf-8")
    assert main(["run", "--simulate", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"tgmon: error: {bad}: $.events[0].post.channel: unknown channel 'foo' "
                   "(known: legionoffreedom)")


def test_the_built_in_day_plays_from_the_readme_command(clean_env, capsys, caplog):
    caplog.set_level(logging.WARNING)
    assert main(["run", "--simulate", "--transcript", "day.jsonl"]) == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    out = capsys.readouterr().out
    assert "2024-03-12T00:00:00+03:00 to 2024-03-13T00:00:00+03:00" in out
    assert "1 restarts" in out
    lines = [json.loads(x) for x in (clean_env / "day.jsonl").read_text("utf-8").splitlines()]
    assert {x["text"] for x in lines} >= {"/subscribe legionoffreedom",
                                          "/alert Тёткино OR Tyotkino"}
    # the whole product works on that day: the rule alerts, the digest goes out with its chart
    out_msgs = [x for x in lines if x["direction"] == "out"]
    assert any(x["text"].startswith("📢") and "Rule 1 Тёткино OR Tyotkino" in x["text"]
               for x in out_msgs)
    assert any(x["text"].startswith("tgmon digest") for x in out_msgs)
    assert any((x.get("file") or {}).get("name") == "digest.png" for x in out_msgs)


def test_the_simulations_database_lies_beside_tgmon_db_and_is_never_it(tmp_path):
    from pathlib import Path

    from bot.cli.run import simulation_db

    assert simulation_db(Path("data/tgmon.db")) == Path("data/simulation.db")
    assert simulation_db(Path("/data/tgmon.db")) == Path("/data/simulation.db")
    assert simulation_db(Path("/x/simulation.db")) == Path("/x/simulation-run.db")
