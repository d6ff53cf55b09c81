"""The soak's invariants (bot.sim.invariants) on a small played scenario: they hold for
the real app, and each one fails when what it guards is broken (a post missing or with
a text it never had, a tombstone missing or false, a message sent twice, a digest that
did not go out, a message over Telegram's limits, an ERROR in the log)."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from datetime import UTC, datetime

import pytest
from telethon.tl import functions, types

from bot.app import default_components
from bot.sim.invariants import Run, check_run, entity_problems
from bot.sim.model import RequestRecord

ADMIN, ANNA = 700001, 700002
SCENARIO = {
    "start": "2024-03-12T06:00:00Z", "end": "2024-03-12T14:00:00Z",
    "settings": {"admins": [ADMIN], "access": "open", "timezone": "UTC",
                 "digest_time": "10:00"},
    "channels": [{"id": 1800000001, "username": "chan_a", "title": "A <&>", "history": [
        {"id": 1, "date": "2024-03-12T05:00:00Z", "text": "история"}]}],
    "users": [{"id": ADMIN, "first_name": "Desk"}, {"id": ANNA, "first_name": "Анна"}],
    "events": [
        {"at": "2024-03-12T06:01:00Z", "message": {"from": ANNA, "text": "/start"}},
        {"at": "2024-03-12T06:02:00Z", "message": {"from": ANNA, "text": "/subscribe chan_a"}},
        {"at": "2024-03-12T06:30:00Z", "post": {"channel": "chan_a", "id": 2,
                                                "text": "Тёткино: первый"}},
        {"at": "2024-03-12T07:00:00Z", "edit": {"channel": "chan_a", "id": 2,
                                                "text": "Тёткино: исправлено"}},
        {"at": "2024-03-12T07:30:00Z", "delete": {"channel": "chan_a", "ids": [1]}},
        {"at": "2024-03-12T08:00:00Z", "post": {"channel": "chan_a", "id": 3,
                                                "text": "второй 🔥"}},
        {"at": "2024-03-12T11:00:00Z", "fault": {"kind": "app_down",
                                                 "until": "2024-03-12T11:20:00Z"}},
        {"at": "2024-03-12T11:10:00Z", "post": {"channel": "chan_a", "id": 4,
                                                "text": "пока лежал"}},
    ]}


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    from simkit import Sim

    sim = Sim(tmp_path_factory.mktemp("played"))
    report = sim.play(SCENARIO, components=default_components)
    return report


def run_of(report, tmp_path, sql: str = "", **changes) -> Run:
    """A run on a copy of the played database, changed by ``sql``."""
    db = tmp_path / f"copy{len(list(tmp_path.glob('copy*.db')))}.db"
    shutil.copy(report.settings.db_path, db)
    if sql:
        with sqlite3.connect(db) as conn:
            conn.executescript(sql)
    run = Run(report.scenario, report.settings, report.world, db)
    return dataclasses.replace(run, **changes) if changes else run


def checks(run: Run) -> list[str]:
    return [str(v) for v in check_run(run)]


def test_a_played_scenario_holds_every_invariant_and_they_require_something(played, tmp_path):
    run = run_of(played, tmp_path)
    assert checks(run) == []
    t = run.tally
    assert t["posts that must be stored"] == 4
    assert t["edits that must be stored"] == 1
    assert t["deletions that must be tombstones"] == 1
    assert t["digests that must go out"] == 1
    assert t["alerts that must be decided"] == 3


def test_a_missing_post_or_a_text_it_never_had_is_found(played, tmp_path):
    missing = run_of(played, tmp_path, "DROP TRIGGER posts_never_deleted; "
                     "DELETE FROM posts WHERE message_id = 3;")
    assert any("chan_a/3" in v and "is not stored" in v for v in checks(missing))
    invented = run_of(played, tmp_path, "UPDATE posts SET text = 'выдумка' "
                      "WHERE message_id = 3;")
    assert any("chan_a/3 is stored with a text it never had" in v for v in checks(invented))
    stale = run_of(played, tmp_path, "UPDATE posts SET text = 'Тёткино: первый' "
                   "WHERE message_id = 2;")
    assert any("chan_a/2 is stored with an old text" in v for v in checks(stale))


def test_missing_and_false_tombstones_are_found(played, tmp_path):
    kept = run_of(played, tmp_path, "UPDATE posts SET deleted_at = NULL WHERE message_id = 1;")
    assert any("chan_a/1 was deleted" in v and "no tombstone" in v for v in checks(kept))
    false = run_of(played, tmp_path, "UPDATE posts SET deleted_at = '2024-03-12T09:00:00Z' "
                   "WHERE message_id = 3;")
    assert any("chan_a/3 is tombstoned but was never deleted" in v for v in checks(false))


def test_a_message_sent_twice_is_found(played, tmp_path):
    run = run_of(played, tmp_path)
    alert = next(m for m in played.world.chat_log if m.out and m.text.startswith("📢"))
    world = played.world
    again = dataclasses.replace(alert, id=alert.id + 10_000)
    world.chat_log.append(again)
    try:
        found = checks(run)
    finally:
        world.chat_log.remove(again)
    assert any(v.startswith("delivery:") and "no outbox row" in v for v in found)
    assert any(v.startswith("alerts:") and "2 times" in v for v in found)


def test_a_digest_that_did_not_go_out_is_found(played, tmp_path):
    run = run_of(played, tmp_path, "DELETE FROM outbox WHERE kind = 'digest' AND "
                 "dedup_key NOT LIKE '%now%';")
    assert any(f"chat {ANNA} did not get its digest due 2024-03-12T10:00:00Z" in v
               for v in checks(run))


def test_messages_over_telegram_limits_and_errors_in_the_log_are_found(played, tmp_path):
    run = run_of(played, tmp_path, errors=["bot.x: something broke"])
    too_long = functions.messages.SendMessageRequest(
        types.InputPeerUser(ANNA, 0), "я" * 4097,
        entities=[types.MessageEntityBold(4090, 20)])
    record = RequestRecord(datetime(2024, 3, 12, 9, tzinfo=UTC), 1, "bot", too_long)
    played.world.requests.append(record)
    try:
        found = checks(run)
    finally:
        played.world.requests.remove(record)
    assert any("a message of 4097 UTF-16 units" in v for v in found)
    assert any("outside a text" in v for v in found)
    assert "errors: bot.x: something broke" in found


def test_entities_must_nest_or_be_apart():
    ok = [types.MessageEntityBold(0, 10), types.MessageEntityItalic(2, 3),
          types.MessageEntityCode(10, 2)]
    assert entity_problems("x" * 12, ok) == []
    crossing = [types.MessageEntityBold(0, 5), types.MessageEntityItalic(3, 5)]
    assert entity_problems("x" * 12, crossing) == ["entities (0, 5) and (3, 8) overlap"]
    # an emoji is two UTF-16 units: an entity may end after it
    assert entity_problems("a🔥", [types.MessageEntityBold(0, 3)]) == []
