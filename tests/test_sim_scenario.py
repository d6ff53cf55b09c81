"""Scenario files: what is accepted, and one clear error (with its JSON path) per kind
of mistake."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, time

import pytest

from bot.sim.jsonread import ScenarioError
from bot.sim.scenario import load_scenario, parse_scenario
from bot.sim.scenario_events import Delete, Edit, Fault, Message, Post
from config.errors import TgmonError
from config.settings import Settings

BASE = {
    "start": "2024-03-12T00:00:00+03:00",
    "end": "2024-03-12T12:00:00+03:00",
    "settings": {"admins": [1], "timezone": "Europe/Moscow", "digest_time": "20:00"},
    "channels": [
        {"id": 10, "username": "legionoffreedom", "title": "Легион",
         "history": [{"id": 1, "date": "2024-03-11T20:00:00+03:00", "text": "вчера"}]},
        {"id": 11, "username": "gubernator_46", "title": "Губернатор"},
    ],
    "users": [{"id": 1, "first_name": "Ольга"}, {"id": 2, "first_name": "Марк"}],
    "events": [
        {"at": "2024-03-12T03:00:00+03:00",
         "post": {"channel": "legionoffreedom", "id": 2, "text": "Тёткино"}},
        {"at": "2024-03-12T03:30:00+03:00", "edit": {"channel": "legionoffreedom", "id": 2,
                                                     "text": "Тёткино, обновлено"}},
        {"at": "2024-03-12T04:00:00+03:00", "message": {"from": 1, "text": "/start"}},
    ],
}


def scenario_with(change):
    data = copy.deepcopy(BASE)
    change(data)
    return json.dumps(data, ensure_ascii=False)


def test_a_valid_scenario_parses_into_records():
    s = parse_scenario(json.dumps(BASE))
    assert s.start == datetime(2024, 3, 11, 21, 0, tzinfo=UTC)
    assert [type(e.action) for e in s.events] == [Post, Edit, Message]
    assert s.channels[0].history[0].text == "вчера"
    settings = s.apply_settings(Settings())
    assert settings.digest_time == time(20, 0) and settings.admins == frozenset({1})
    assert settings.watch == ("legionoffreedom", "gubernator_46")   # default: every channel


def test_events_are_sorted_stably_by_time():
    def shuffle(d):
        d["events"] = [
            {"at": "2024-03-12T05:00:00+03:00", "message": {"from": 1, "text": "b"}},
            {"at": "2024-03-12T04:00:00+03:00", "message": {"from": 1, "text": "a1"}},
            {"at": "2024-03-12T04:00:00+03:00", "message": {"from": 2, "text": "a2"}},
        ]
    s = parse_scenario(scenario_with(shuffle))
    assert [e.action.text for e in s.events] == ["a1", "a2", "b"]
    assert s.events[0].path == "$.events[1]"


def test_naive_times_are_utc():
    s = parse_scenario(scenario_with(lambda d: d.update(start="2024-03-11T21:00:00")))
    assert s.start == datetime(2024, 3, 11, 21, 0, tzinfo=UTC)


def test_the_built_in_scenario_is_valid():
    s = load_scenario()
    kinds = {type(e.action) for e in s.events}
    assert {Post, Edit, Delete, Message, Fault} <= kinds
    assert {f.action.kind for f in s.events if isinstance(f.action, Fault)} >= {
        "drop_updates", "disconnect", "app_down", "flood_wait"}
    usernames = {c.username for c in s.channels}
    assert {"legionoffreedom", "russvolcorps", "gubernator_46", "vvgladkov"} <= usernames
    assert s.start <= datetime(2024, 3, 12, 17, 0, tzinfo=UTC) <= s.end   # the 20:00 MSK digest


def _events(*events):
    return lambda d: d["events"].extend(events)


AT = "2024-03-12T05:00:00+03:00"

ERRORS = [
    ("not json", None, "line 1 column 2: not valid JSON"),
    ("missing start", lambda d: d.pop("start"), "$: missing 'start'"),
    ("unknown top-level key", lambda d: d.update(extra=1), "$: unknown key 'extra'"),
    ("bad time", lambda d: d.update(end="noon"), "$.end: expected an ISO 8601 time"),
    ("end before start", lambda d: d.update(end="2024-03-11T00:00:00+03:00"),
     "$.end: must be after start"),
    ("unknown setting", lambda d: d["settings"].update(colour="red"),
     "$.settings: unknown key 'colour'"),
    ("bad setting value", lambda d: d["settings"].update(timezone="Mars/Base"),
     "$.settings.timezone: unknown time zone"),
    ("setting the simulation decides", lambda d: d["settings"].update(bot_token="1:x"),
     "$.settings.bot_token: is decided by the simulation"),
    ("bad username", lambda d: d["channels"][1].update(username="no spaces"),
     "$.channels[1].username: 'no spaces' is not a Telegram username"),
    ("duplicate channel id", lambda d: d["channels"][1].update(id=10),
     "$.channels[1].id: 10 is used twice"),
    ("history after start", lambda d: d["channels"][0]["history"][0].update(
        date="2024-03-12T06:00:00+03:00"), "$.channels[0].history[0].date: history is what"),
    ("event outside the run", _events({"at": "2024-03-13T00:00:00+03:00",
                                       "message": {"from": 1, "text": "late"}}),
     "$.events[3].at: must lie between start"),
    ("event with two actions", _events({"at": AT, "message": {"from": 1, "text": "x"},
                                        "press": {"from": 1, "data": "x"}}),
     "$.events[3]: an event has 'at' and exactly one of"),
    ("unknown channel", _events({"at": AT, "post": {"channel": "foo", "id": 9, "text": "x"}}),
     "$.events[3].post.channel: unknown channel 'foo' (known: gubernator_46, legionoffreedom)"),
    ("post id not increasing", _events({"at": AT, "post": {"channel": "legionoffreedom",
                                                           "id": 2, "text": "x"}}),
     "$.events[3].post.id: post ids of legionoffreedom must increase: 2 after 2"),
    ("edit of a deleted post", _events(
        {"at": AT, "delete": {"channel": "legionoffreedom", "ids": [2]}},
        {"at": "2024-03-12T06:00:00+03:00",
         "edit": {"channel": "legionoffreedom", "id": 2, "text": "y"}}),
     "$.events[4].edit.id: post 2 of legionoffreedom was deleted at this time"),
    ("forward of a missing post", _events({"at": AT, "post": {
        "channel": "gubernator_46", "id": 5, "text": "x",
        "fwd_from": {"channel": "legionoffreedom", "id": 40}}}),
     "$.events[3].post.fwd_from.id: post 40 of legionoffreedom does not exist"),
    ("unknown user", _events({"at": AT, "message": {"from": 99, "text": "/start"}}),
     "$.events[3].message.from: unknown user 99"),
    ("unknown fault", _events({"at": AT, "fault": {"kind": "meteor"}}),
     "$.events[3].fault.kind: expected one of drop_updates"),
    ("fault without until", _events({"at": AT, "fault": {"kind": "app_down"}}),
     "$.events[3].fault: missing 'until'"),
    ("unknown method", _events({"at": AT, "fault": {"kind": "flood_wait",
                                                    "method": "messages.getHistroy",
                                                    "seconds": 30}}),
     "$.events[3].fault.method: unknown method 'messages.getHistroy'"),
    ("overlapping app_down", _events(
        {"at": AT, "fault": {"kind": "app_down", "until": "2024-03-12T07:00:00+03:00"}},
        {"at": "2024-03-12T06:00:00+03:00",
         "fault": {"kind": "app_down", "until": "2024-03-12T08:00:00+03:00"}}),
     "$.events[4].fault: the app is already down until"),
    ("callback data too long", _events({"at": AT, "press": {"from": 1, "data": "x" * 65}}),
     "$.events[3].press.data: callback data is at most 64 bytes"),
    ("entity past the text", _events({"at": AT, "post": {
        "channel": "legionoffreedom", "id": 3, "text": "ab",
        "entities": [{"type": "bold", "offset": 1, "length": 5}]}}),
     "$.events[3].post.entities[0]: offset + length (6) is past the end"),
    ("bad account name", lambda d: d.update(accounts=["main", "user"]),
     "$.accounts[1]: 'user' cannot be an account name"),
    ("account listed twice", lambda d: d.update(accounts=["second", "second"]),
     "$.accounts[1]: 'second' is listed twice"),
    ("fault of an unknown account", _events({"at": AT, "fault": {
        "kind": "account_banned", "account": "second"}}),
     "$.events[3].fault.account: expected one of main"),
    ("account of the bot", lambda d: (d.update(accounts=["main", "second"]), _events(
        {"at": AT, "fault": {"kind": "session_revoked", "client": "bot",
                             "account": "second"}})(d)),
     "$.events[3].fault.account: names a watching account: the client is 'user'"),
    ("ban without whom", _events({"at": AT, "fault": {"kind": "account_banned"}}),
     "$.events[3].fault: missing 'client' (user or bot; or 'account'"),
    ("negative join limit", lambda d: d.update(limits={"join_limit": -1}),
     "$.limits.join_limit:"),
    ("wrong type", lambda d: d["users"][0].update(id="one"),
     "$.users[0].id: expected a whole number, got 'one'"),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in ERRORS],
                         ids=[name for name, _, _ in ERRORS])
def test_each_mistake_gets_one_clear_error(change, message):
    text = "{not json" if change is None else scenario_with(change)
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(text, "scenario.json")
    assert str(raised.value).startswith("scenario.json: ")
    assert message in str(raised.value)
    assert isinstance(raised.value, TgmonError)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="no scenario file"):
        load_scenario(tmp_path / "nope.json")


def test_accounts_parse_with_main_first_and_faults_name_one():
    data = copy.deepcopy(BASE)
    data.update(accounts=["second", "Main"], limits={"join_limit": 3})
    data["events"].append({"at": AT, "fault": {"kind": "account_banned", "account": "second"}})
    scenario = parse_scenario(json.dumps(data), "scenario.json")
    assert scenario.accounts == ("main", "second")
    assert scenario.limits.join_limit == 3
    fault = next(e.action for e in scenario.events if isinstance(e.action, Fault))
    assert (fault.kind, fault.client, fault.account) == ("account_banned", "user", "second")
    assert parse_scenario(json.dumps(BASE), "scenario.json").accounts == ("main",)
