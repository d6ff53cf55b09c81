"""``tgmon run --simulate``: the built-in day is captured in full by the real watcher."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

import pytest

from bot.cli import main
from bot.sim.scenario import load_scenario
from bot.sim.scenario_events import Delete, Edit, Post


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_built_in_day_is_captured(clean_env, capsys):
    scenario = load_scenario()
    window_start = scenario.start - timedelta(hours=24)       # the default initial window
    ids = {c.username: c.id for c in scenario.channels}
    expected = {(ids[c.username], p.id) for c in scenario.channels for p in c.history
                if p.date is not None and p.date >= window_start}
    expected |= {(ids[e.action.post.channel], e.action.post.id) for e in scenario.events
                 if isinstance(e.action, Post)}
    edited = {(ids[e.action.channel], e.action.id): e.action.text for e in scenario.events
              if isinstance(e.action, Edit)}
    deleted = {(ids[e.action.channel], m) for e in scenario.events
               if isinstance(e.action, Delete) for m in e.action.ids}

    assert main(["run", "--simulate", "--db", "day.db"]) == 0
    assert f"({len(expected)} posts captured)" in capsys.readouterr().out
    conn = sqlite3.connect(clean_env / "day.db")
    stored = {(c, m): (d, v) for c, m, d, v in conn.execute(
        "SELECT channel_id, message_id, deleted_at, version FROM posts")}
    texts = dict(conn.execute(
        "SELECT p.channel_id || '/' || p.message_id, v.text FROM post_versions v "
        "JOIN posts p ON p.id = v.post_id WHERE v.version = 2"))
    conn.close()
    assert set(stored) == expected
    assert {k for k, (d, _) in stored.items() if d is not None} == deleted
    assert {k for k, (_, v) in stored.items() if v > 1} == set(edited)
    assert all(texts[f"{c}/{m}"] == t for (c, m), t in edited.items())
