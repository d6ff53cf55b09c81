"""Scenarios: a day (or any span) of Telegram activity as a JSON file, read into frozen
records. :func:`load_scenario` checks everything it can before anything is played and
names the JSON path of the first bad field. The format is documented in
docs/simulation.md ("Scenario files"); :mod:`bot.sim.scenario_events` reads the events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.sim.jsonread import Node, ScenarioError, optional
from bot.sim.scenario_events import read_events
from bot.sim.scenario_posts import (
    MISSING_MESSAGES,
    Event,
    PostSpec,
    read_post,
    username,
)
from config.accounts import MAIN, AccountNameError, check_account_name
from config.durations import parse_duration
from config.settings import SPEC_BY_NAME, Settings, SettingsError, settings_from_values

BUILTIN_SCENARIO = "2024-03-12.json"
# Settings the simulation decides itself (credentials, where files go).
NOT_IN_SCENARIO = ("api_id", "api_hash", "bot_token", "db_path", "session_dir", "server",
                   "server_key", "media_dir")


@dataclass(frozen=True)
class ChannelSpec:
    id: int
    username: str
    title: str
    history: tuple[PostSpec, ...] = ()
    joined: bool = True             # the watching account is a member (gets pushes)
    discussion: tuple[int, str | None] | None = None   # linked group: (id, title)


@dataclass(frozen=True)
class UserSpec:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class GroupSpec:
    id: int
    title: str
    members: tuple[int, ...] = ()


@dataclass(frozen=True)
class Limits:
    resolve_budget: int = 200       # username resolutions per account ...
    resolve_window: float = 86400.0  # ... per this many seconds
    latency: float = 0.0            # seconds from a request to its answer
    missing_messages: str = "empty"  # channels.getMessages for ids without a post:
    #                                  "empty" (messageEmpty, Telegram) or "omitted"
    join_limit: int = 500           # channels each watching account may be a member of
    file_reference_lifetime: float | None = None    # seconds; None: until revoked


@dataclass(frozen=True)
class Scenario:
    source: str
    start: datetime
    end: datetime
    settings: tuple[tuple[str, Any], ...]
    channels: tuple[ChannelSpec, ...]
    users: tuple[UserSpec, ...]
    groups: tuple[GroupSpec, ...]
    events: tuple[Event, ...]
    limits: Limits = Limits()
    accounts: tuple[str, ...] = (MAIN,)      # the watching accounts, main first

    def apply_settings(self, base: Settings) -> Settings:
        """``base`` with the scenario's settings; ``watch`` defaults to every channel."""
        values = dict(self.settings)
        values.setdefault("watch", [c.username for c in self.channels])
        return settings_from_values(values, base=base)


def load_scenario(path: Path | None = None) -> Scenario:
    """Read and check a scenario file; ``None`` is the built-in 12 March 2024 day."""
    if path is None:
        text = resources.files("bot.sim").joinpath("scenarios", BUILTIN_SCENARIO).read_text(
            encoding="utf-8")
        return parse_scenario(text, f"(built-in) {BUILTIN_SCENARIO}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"no scenario file {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"cannot read scenario {path}: {e}") from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, source: str = "scenario.json") -> Scenario:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{source}: line {e.lineno} column {e.colno}: not valid JSON: "
                            f"{e.msg}") from None
    root = Node(data, "$", source)
    f = root.fields(required=("start", "end", "channels"),
                    optional=("settings", "users", "groups", "events", "limits", "accounts"))
    start, end = f["start"].time(), f["end"].time()
    if end <= start:
        f["end"].fail(f"must be after start ({f['start'].value})")
    channels = tuple(_channel(n, start) for n in f["channels"].items())
    if not channels:
        f["channels"].fail("a scenario needs at least one channel")
    _unique(f["channels"], [c.id for c in channels]
            + [c.discussion[0] for c in channels if c.discussion], "id")
    _unique(f["channels"], [c.username.lower() for c in channels], "username")
    users = tuple(_user(n) for n in f["users"].items()) if "users" in f else ()
    _unique(f.get("users"), [u.id for u in users], "id")
    groups = tuple(_group(n, {u.id for u in users}) for n in f["groups"].items()) \
        if "groups" in f else ()
    names = [c.username.lower() for c in channels] + [u.username.lower() for u in users
                                                      if u.username]
    if len(set(names)) != len(names):
        root.fail("a username is used twice (channels and users share one name space)")
    settings = _settings(f["settings"]) if "settings" in f else ()
    limits = _limits(f["limits"]) if "limits" in f else Limits()
    accounts = _accounts(f["accounts"]) if "accounts" in f else (MAIN,)
    scenario = Scenario(source, start, end, settings, channels, users, groups, (), limits,
                        accounts)
    events = read_events(f["events"], scenario) if "events" in f else ()
    return Scenario(source, start, end, settings, channels, users, groups, events, limits,
                    accounts)


def _accounts(node: Node) -> tuple[str, ...]:
    """The watching accounts by name; ``main`` is always one (first)."""
    names = [MAIN]
    for item in node.items():
        try:
            name = check_account_name(item.text(empty=False))
        except AccountNameError as e:
            item.fail(str(e))
        if name in names[1:]:
            item.fail(f"{name!r} is listed twice")
        if name != MAIN:
            names.append(name)
    return tuple(names)


def _unique(node: Node | None, values: list[Any], key: str) -> None:
    seen = set()
    for i, v in enumerate(values):
        if v in seen and node is not None:
            node.child(i).child(key).fail(f"{v!r} is used twice")
        seen.add(v)


def _channel(node: Node, start: datetime) -> ChannelSpec:
    f = node.fields(required=("id", "username", "title"),
                    optional=("history", "joined", "discussion"))
    name = username(f["username"])
    history: list[PostSpec] = []
    for item in f["history"].items() if "history" in f else ():
        p = read_post(item, name, dated=True)
        assert p.date is not None
        if history and p.id <= history[-1].id:
            item.child("id").fail(f"history post ids must increase ({p.id} after "
                                  f"{history[-1].id})")
        if p.date > start:
            item.child("date").fail("history is what exists before start: the date must "
                                    "not be after start (post it as an event instead)")
        if p.fwd_from is not None and p.fwd_from.channel is not None:
            item.child("fwd_from").fail("history posts can forward hidden origins only "
                                        '({"name": ...}); forward channels in events')
        history.append(p)
    discussion = None
    if "discussion" in f:
        d = f["discussion"].fields(required=("id",), optional=("title",))
        discussion = (d["id"].integer(minimum=1),
                      d["title"].text(empty=False) if "title" in d else None)
    return ChannelSpec(f["id"].integer(minimum=1), name, f["title"].text(empty=False),
                       tuple(history), f["joined"].boolean() if "joined" in f else True,
                       discussion)


def _user(node: Node) -> UserSpec:
    f = node.fields(required=("id", "first_name"), optional=("username", "last_name"))
    name = optional(f, "username")
    last = optional(f, "last_name")
    return UserSpec(f["id"].integer(minimum=1), f["first_name"].text(empty=False),
                    username(name) if name else None, last.text() if last else None)


def _group(node: Node, users: set[int]) -> GroupSpec:
    f = node.fields(required=("id", "title"), optional=("members",))
    members = []
    for m in f["members"].items() if "members" in f else ():
        uid = m.integer()
        if uid not in users:
            m.fail(f"unknown user {uid} (declare it under users)")
        members.append(uid)
    return GroupSpec(f["id"].integer(minimum=1), f["title"].text(empty=False), tuple(members))


def _settings(node: Node) -> tuple[tuple[str, Any], ...]:
    values = node.fields(optional=tuple(n for n in SPEC_BY_NAME if n not in NOT_IN_SCENARIO)
                         + NOT_IN_SCENARIO)
    for name, value in values.items():
        if name in NOT_IN_SCENARIO:
            value.fail("is decided by the simulation (credentials and files), not a scenario")
        try:
            settings_from_values({name: value.value})
        except SettingsError as e:
            value.fail(str(e).split(": ", 1)[-1])
    return tuple((name, value.value) for name, value in values.items())


def _limits(node: Node) -> Limits:
    f = node.fields(optional=("resolve_budget", "resolve_window", "latency",
                              "missing_messages", "join_limit", "file_reference_lifetime"))
    window = Limits.resolve_window
    if "resolve_window" in f:
        try:
            window = parse_duration(str(f["resolve_window"].value)).total_seconds()
        except ValueError as e:
            f["resolve_window"].fail(str(e))
    budget = f["resolve_budget"].integer(minimum=1) if "resolve_budget" in f \
        else Limits.resolve_budget
    latency = f["latency"].number() if "latency" in f else Limits.latency
    if latency > 10:
        f["latency"].fail("expected seconds of network round trip, at most 10")
    missing = f["missing_messages"].choice(MISSING_MESSAGES) if "missing_messages" in f \
        else Limits.missing_messages
    joins = f["join_limit"].integer(minimum=0) if "join_limit" in f else Limits.join_limit
    lifetime = None
    if "file_reference_lifetime" in f:
        try:
            lifetime = parse_duration(str(f["file_reference_lifetime"].value)).total_seconds()
        except ValueError as e:
            f["file_reference_lifetime"].fail(str(e))
    return Limits(budget, window, latency, missing, joins, lifetime)

