"""Scenarios: a day (or any span) of Telegram activity as a JSON file, read into frozen
records. :func:`load_scenario` checks everything it can before anything is played and
names the JSON path of the first bad field. The format is documented in the README
("Simulation and scenarios"); :mod:`bot.sim.scenario_events` reads the events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.sim.jsonread import Node, ScenarioError, optional
from bot.sim.model import MEDIA_KINDS, EntitySpec, MediaSpec
from bot.sim.tl import ENTITY_TYPES, utf16_len
from config.durations import parse_duration
from config.settings import SPEC_BY_NAME, Settings, SettingsError, settings_from_values

BUILTIN_SCENARIO = "2024-03-12.json"
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
# Settings the simulation decides itself (credentials, where files go).
NOT_IN_SCENARIO = ("api_id", "api_hash", "bot_token", "db_path", "session_dir", "server",
                   "server_key")


@dataclass(frozen=True)
class Forward:
    channel: str | None = None      # a scenario channel's username ...
    id: int | None = None           # ... and its post, or
    name: str | None = None         # a hidden origin's name


@dataclass(frozen=True)
class PostSpec:
    channel: str
    id: int
    date: datetime | None           # history only; events post at their `at`
    text: str = ""
    entities: tuple[EntitySpec, ...] = ()
    views: int | None = None
    forwards: int | None = None
    reactions: tuple[tuple[str, int], ...] = ()
    media: MediaSpec | None = None
    fwd_from: Forward | None = None
    reply_to: int | None = None
    grouped_id: int | None = None
    author: str | None = None


@dataclass(frozen=True)
class ChannelSpec:
    id: int
    username: str
    title: str
    history: tuple[PostSpec, ...] = ()
    joined: bool = True             # the watching account is a member (gets pushes)


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


@dataclass(frozen=True)
class Event:
    at: datetime
    action: Any                     # one of the records in bot.sim.scenario_events
    path: str                       # "$.events[3]", for messages while playing


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
    from bot.sim.scenario_events import read_events

    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{source}: line {e.lineno} column {e.colno}: not valid JSON: "
                            f"{e.msg}") from None
    root = Node(data, "$", source)
    f = root.fields(required=("start", "end", "channels"),
                    optional=("settings", "users", "groups", "events", "limits"))
    start, end = f["start"].time(), f["end"].time()
    if end <= start:
        f["end"].fail(f"must be after start ({f['start'].value})")
    channels = tuple(_channel(n, start) for n in f["channels"].items())
    if not channels:
        f["channels"].fail("a scenario needs at least one channel")
    _unique(f["channels"], [c.id for c in channels], "id")
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
    scenario = Scenario(source, start, end, settings, channels, users, groups, (), limits)
    events = read_events(f["events"], scenario) if "events" in f else ()
    return Scenario(source, start, end, settings, channels, users, groups, events, limits)


def _unique(node: Node | None, values: list[Any], key: str) -> None:
    seen = set()
    for i, v in enumerate(values):
        if v in seen and node is not None:
            node.child(i).child(key).fail(f"{v!r} is used twice")
        seen.add(v)


def username(node: Node) -> str:
    name = node.text().lstrip("@")
    if not USERNAME.fullmatch(name):
        node.fail(f"{node.value!r} is not a Telegram username (4-32 letters, digits or _, "
                  "starting with a letter)")
    return name


def _channel(node: Node, start: datetime) -> ChannelSpec:
    f = node.fields(required=("id", "username", "title"), optional=("history", "joined"))
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
    return ChannelSpec(f["id"].integer(minimum=1), name, f["title"].text(empty=False),
                       tuple(history), f["joined"].boolean() if "joined" in f else True)


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
                              "missing_messages"))
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
    return Limits(budget, window, latency, missing)


MISSING_MESSAGES = ("empty", "omitted")


POST_KEYS = ("id", "text", "entities", "views", "forwards", "reactions", "media", "fwd_from",
             "reply_to", "grouped_id", "author")


def read_post(node: Node, channel: str, *, dated: bool, extra: tuple[str, ...] = ()) -> PostSpec:
    """A post of history (``dated``: it has a ``date``) or of a post event."""
    f = node.fields(required=("id", "date") if dated else ("id",),
                    optional=(*POST_KEYS, *extra))
    text = f["text"].text() if "text" in f else ""
    media = _media(f["media"]) if optional(f, "media") else None
    if not text and media is None:
        node.fail("a post needs text or media")
    fwd = optional(f, "fwd_from")
    return PostSpec(
        channel, f["id"].integer(minimum=1), f["date"].time() if dated else None, text,
        read_entities(f["entities"], text) if "entities" in f else (),
        _count(f, "views"), _count(f, "forwards"),
        read_reactions(f["reactions"]) if "reactions" in f else (), media,
        _forward(fwd) if fwd else None, _count(f, "reply_to", minimum=1),
        _count(f, "grouped_id", minimum=1),
        f["author"].text() if optional(f, "author") else None)


def _count(f: dict[str, Node], key: str, minimum: int = 0) -> int | None:
    node = optional(f, key)
    return node.integer(minimum=minimum) if node else None


def read_entities(node: Node, text: str) -> tuple[EntitySpec, ...]:
    units = utf16_len(text)
    out = []
    for item in node.items():
        f = item.fields(required=("type", "offset", "length"), optional=("url",))
        kind = f["type"].choice(ENTITY_TYPES)
        offset, length = f["offset"].integer(minimum=0), f["length"].integer(minimum=1)
        if offset + length > units:
            item.fail(f"offset + length ({offset + length}) is past the end of the text "
                      f"({units} UTF-16 code units)")
        url = f["url"].text(empty=False) if "url" in f else None
        if kind == "text_link" and url is None:
            item.fail("a text_link needs a url")
        out.append(EntitySpec(kind, offset, length, url))
    return tuple(out)


def read_reactions(node: Node) -> tuple[tuple[str, int], ...]:
    if not isinstance(node.value, dict):
        node.fail(f"expected an object of emoji -> count, got {node.value!r}")
    return tuple((emoji, node.child(emoji).integer(minimum=0)) for emoji in node.value)


def _media(node: Node) -> MediaSpec:
    f = node.fields(required=("kind",), optional=("file_name", "size", "mime_type", "width",
                                                  "height", "duration"))
    return MediaSpec(
        f["kind"].choice(MEDIA_KINDS),
        f["file_name"].text(empty=False) if "file_name" in f else None,
        _count(f, "size") or 0,
        f["mime_type"].text(empty=False) if "mime_type" in f else None,
        _count(f, "width"), _count(f, "height"),
        f["duration"].number() if "duration" in f else None)


def _forward(node: Node) -> Forward:
    if isinstance(node.value, dict) and "name" in node.value:
        f = node.fields(required=("name",))
        return Forward(name=f["name"].text(empty=False))
    f = node.fields(required=("channel", "id"))
    return Forward(channel=username(f["channel"]), id=f["id"].integer(minimum=1))
