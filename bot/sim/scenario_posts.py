"""What a scenario's posts are made of, read from JSON: the channels' history and the
``post`` events share it (:mod:`bot.sim.scenario` reads the file,
:mod:`bot.sim.scenario_events` its events)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.sim.jsonread import Node, optional
from bot.sim.model import MEDIA_KINDS, ContentSpec, EntitySpec, MediaSpec
from bot.sim.tl import ENTITY_TYPES
from storage.models import Poll, PollAnswer, Restriction, WebPage, utf16_len

USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


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
    poll: Poll | None = None
    webpage: WebPage | None = None
    restrictions: tuple[Restriction, ...] = ()
    noforwards: bool = False
    pinned: bool = False


@dataclass(frozen=True)
class Event:
    at: datetime
    action: Any                     # one of the records in bot.sim.scenario_events
    path: str                       # "$.events[3]", for messages while playing


def username(node: Node) -> str:
    name = node.text().lstrip("@")
    if not USERNAME.fullmatch(name):
        node.fail(f"{node.value!r} is not a Telegram username (4-32 letters, digits or _, "
                  "starting with a letter)")
    return name


MISSING_MESSAGES = ("empty", "omitted")


POST_KEYS = ("id", "text", "entities", "views", "forwards", "reactions", "media", "fwd_from",
             "reply_to", "grouped_id", "author", "poll", "webpage", "restriction_reason",
             "noforwards", "pinned")


def read_post(node: Node, channel: str, *, dated: bool, extra: tuple[str, ...] = ()) -> PostSpec:
    """A post of history (``dated``: it has a ``date``) or of a post event."""
    f = node.fields(required=("id", "date") if dated else ("id",),
                    optional=(*POST_KEYS, *extra))
    text = f["text"].text() if "text" in f else ""
    media = read_media(f["media"]) if optional(f, "media") else None
    poll = _poll(f["poll"]) if optional(f, "poll") else None
    if not text and media is None and poll is None:
        node.fail("a post needs text, media or a poll")
    if media is not None and poll is not None:
        node.fail("a post has media or a poll, not both")
    fwd = optional(f, "fwd_from")
    return PostSpec(
        channel, f["id"].integer(minimum=1), f["date"].time() if dated else None, text,
        read_entities(f["entities"], text) if "entities" in f else (),
        _count(f, "views"), _count(f, "forwards"),
        read_reactions(f["reactions"]) if "reactions" in f else (), media,
        _forward(fwd) if fwd else None, _count(f, "reply_to", minimum=1),
        _count(f, "grouped_id", minimum=1),
        f["author"].text() if optional(f, "author") else None,
        poll, _webpage(f["webpage"]) if optional(f, "webpage") else None,
        _restrictions(f["restriction_reason"]) if optional(f, "restriction_reason") else (),
        f["noforwards"].boolean() if optional(f, "noforwards") else False,
        f["pinned"].boolean() if optional(f, "pinned") else False)


def _poll(node: Node) -> Poll:
    """``{"question", "answers": ["text" or {"text", "voters"}], "closed"?, "quiz"?}``"""
    f = node.fields(required=("question", "answers"), optional=("closed", "quiz"))
    answers = []
    for item in f["answers"].items():
        if isinstance(item.value, str):
            answers.append(PollAnswer(item.text(empty=False)))
        else:
            a = item.fields(required=("text",), optional=("voters",))
            answers.append(PollAnswer(a["text"].text(empty=False), _count(a, "voters")))
    if len(answers) < 2:
        f["answers"].fail("a poll needs at least two answers")
    return Poll(f["question"].text(empty=False), tuple(answers),
                closed=f["closed"].boolean() if "closed" in f else False,
                quiz=f["quiz"].boolean() if "quiz" in f else False)


def _webpage(node: Node) -> WebPage:
    f = node.fields(required=("url",), optional=("site", "title", "description"))
    return WebPage(f["url"].text(empty=False),
                   *(f[k].text() if k in f else None for k in ("site", "title", "description")))


def _restrictions(node: Node) -> tuple[Restriction, ...]:
    out = []
    for item in node.items():
        f = item.fields(required=("platform", "reason"), optional=("text",))
        out.append(Restriction(f["platform"].text(empty=False), f["reason"].text(empty=False),
                               f["text"].text() if "text" in f else ""))
    return tuple(out)


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


MEDIA_KEYS = ("kind", "file_name", "size", "mime_type", "width", "height", "duration", "file",
              "bytes", "seed", "quality")


def read_media(node: Node) -> MediaSpec:
    """A post's media; its content from ``file`` (a path relative to the scenario file),
    or ``bytes`` generated from a ``seed`` (photos: a picture drawn from ``seed``)."""
    f = node.fields(required=("kind",), optional=MEDIA_KEYS[1:])
    kind = f["kind"].choice(MEDIA_KINDS)
    path = None
    if "file" in f:
        if "bytes" in f:
            node.fail("give file or bytes, not both")
        given = Path(f["file"].text(empty=False))
        source = Path(node.source)
        path = given if given.is_absolute() else \
            (source.parent if source.exists() else Path.cwd()) / given
        if not path.is_file():
            f["file"].fail(f"no file {str(given)!r} (a path relative to the scenario file)")
    size = _count(f, "bytes", minimum=1)
    content = ContentSpec(path, size, _count(f, "seed"),
                          f["quality"].integer(minimum=1) if "quality" in f else None)
    if "quality" in f and (kind != "photo" or content.quality is None or content.quality > 95):
        f["quality"].fail("quality (1-95) is for photos drawn from a seed")
    declared = _count(f, "size") or 0
    if size is not None and declared and declared != size:
        f["size"].fail(f"size {declared} disagrees with bytes {size}: give one of them")
    return MediaSpec(
        kind,
        f["file_name"].text(empty=False) if "file_name" in f else None,
        declared or size or 0,
        f["mime_type"].text(empty=False) if "mime_type" in f else None,
        _count(f, "width"), _count(f, "height"),
        f["duration"].number() if "duration" in f else None,
        content if content != ContentSpec() else None)


def _forward(node: Node) -> Forward:
    if isinstance(node.value, dict) and "name" in node.value:
        f = node.fields(required=("name",))
        return Forward(name=f["name"].text(empty=False))
    f = node.fields(required=("channel", "id"))
    return Forward(channel=username(f["channel"]), id=f["id"].integer(minimum=1))
