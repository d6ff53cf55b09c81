"""The ``events`` of a scenario: what happens at which time.

Each event has ``at`` and one action: ``post``, ``edit``, ``delete``, ``views``,
``message``, ``press`` or ``fault``. Events are sorted by time (stably: equal times keep
the file's order), then replayed on paper against the channels' posts, so a post id that
does not increase, an edit of a deleted post or an app_down inside another fails here,
with its JSON path, before anything is played.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.sim.jsonread import Node, optional
from bot.sim.model import EntitySpec, MediaSpec
from bot.sim.scenario_posts import (
    Event,
    PostSpec,
    read_entities,
    read_media,
    read_post,
    read_reactions,
    username,
)
from bot.sim.tl import request_class

if TYPE_CHECKING:
    from bot.sim.scenario import Scenario

ACTIONS = ("post", "edit", "delete", "views", "comment", "message", "press", "fault")
CLIENTS = ("user", "bot")
# fault kind -> (required keys, optional keys) besides "kind"
FAULTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "drop_updates": (("until",), ("client", "account")),
    "disconnect": ((), ("seconds", "client", "account")),
    "unreachable": (("seconds",), ("client", "account")),
    "flood_wait": (("method", "seconds"), ("client", "account")),
    "app_down": (("until",), ()),
    "block_bot": (("user",), ()),
    "unblock_bot": (("user",), ()),
    "channel_private": (("channel",), ()),
    "username_change": (("channel", "to"), ()),
    "session_revoked": ((), ("client", "account")),
    "account_banned": ((), ("client", "account")),
    "file_reference_expired": (("channel", "id"), ()),
}
ENDING = ("session_revoked", "account_banned")       # need a client or an account
CALLBACK_DATA_MAX = 64


@dataclass(frozen=True)
class Post:
    post: PostSpec


@dataclass(frozen=True)
class Edit:
    channel: str
    id: int
    text: str
    entities: tuple[EntitySpec, ...] = ()
    media: MediaSpec | None = None      # the post's media replaced
    comment: bool = False           # a comment of the channel's discussion group


@dataclass(frozen=True)
class Delete:
    channel: str
    ids: tuple[int, ...]
    comment: bool = False


@dataclass(frozen=True)
class Comment:
    channel: str
    post: int
    id: int                         # message id in the discussion group
    user: int
    text: str
    reply_to: int | None = None     # another comment of the thread


@dataclass(frozen=True)
class Views:
    channel: str
    id: int
    views: int | None = None
    forwards: int | None = None
    reactions: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True)
class Message:
    user: int
    text: str
    chat: int | None = None         # a group id; None: the private chat with the bot


@dataclass(frozen=True)
class Press:
    user: int
    data: str
    chat: int | None = None


@dataclass(frozen=True)
class Fault:
    kind: str
    until: datetime | None = None
    seconds: float | None = None
    method: str | None = None
    client: str | None = None       # "user" or "bot"; None: both
    account: str | None = None      # one watching account (client "user"); None: each
    user: int | None = None
    channel: str | None = None
    to: str | None = None           # username_change: the new username, None to drop it
    id: int | None = None           # file_reference_expired: the post


class _Paper:
    """The scenario's channels as events change them, to check references in order."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.channels = {c.username.lower(): c.username for c in scenario.channels}
        self.posts = {c.username: {p.id for p in c.history} for c in scenario.channels}
        self.ever = {c.username: {p.id for p in c.history} for c in scenario.channels}
        self.users = {u.id for u in scenario.users}
        # Discussion groups: the last message id (each post has a copy there), and the
        # live comments by id -> the post they are on.
        self.group_last = {c.username: len(c.history) for c in scenario.channels
                           if c.discussion}
        self.comments: dict[str, dict[int, int]] = {c.username: {} for c in scenario.channels}
        self.groups = {g.id: set(g.members) for g in scenario.groups}
        self.down_until: datetime | None = None

    def channel(self, node: Node) -> str:
        name = node.text().lstrip("@").lower()
        if name not in self.channels:
            known = ", ".join(sorted(self.channels.values()))
            node.fail(f"unknown channel {node.value!r} (known: {known})")
        return self.channels[name]

    def existing(self, node: Node, channel: str) -> int:
        mid = node.integer(minimum=1)
        if mid not in self.posts[channel]:
            state = "was deleted" if mid in self.ever[channel] else "does not exist"
            node.fail(f"post {mid} of {channel} {state} at this time")
        return mid

    def user(self, node: Node) -> int:
        uid = node.integer()
        if uid not in self.users:
            node.fail(f"unknown user {uid} (known: {', '.join(map(str, sorted(self.users)))})")
        return uid

    def group(self, node: Node | None, user: int) -> int | None:
        if node is None:
            return None
        gid = node.integer()
        if gid not in self.groups:
            node.fail(f"unknown group {gid} (declare it under groups)")
        if user not in self.groups[gid]:
            node.fail(f"user {user} is not a member of group {gid}")
        return gid


def read_events(node: Node, scenario: Scenario) -> tuple[Event, ...]:
    timed = []
    for item in node.items():
        if not isinstance(item.value, dict) or "at" not in item.value:
            item.fail("an event needs 'at' (when it happens)")
        at = item.child("at").time()
        if not scenario.start <= at <= scenario.end:
            item.child("at").fail(f"must lie between start ({scenario.start.isoformat()}) "
                                  f"and end ({scenario.end.isoformat()})")
        timed.append((at, item))
    timed.sort(key=lambda pair: pair[0])        # stable: equal times keep the file's order
    paper = _Paper(scenario)
    return tuple(Event(at, _action(item, at, paper), item.path) for at, item in timed)


def _action(item: Node, at: datetime, paper: _Paper) -> Any:
    keys = [k for k in item.value if k != "at"]
    if len(keys) != 1 or keys[0] not in ACTIONS:
        item.fail(f"an event has 'at' and exactly one of {', '.join(ACTIONS)}; "
                  f"got {', '.join(map(repr, keys)) or 'nothing'}")
    kind, node = keys[0], item.child(keys[0])
    return _READERS[kind](node, at, paper)


def _post(node: Node, at: datetime, paper: _Paper) -> Post:
    if not isinstance(node.value, dict) or "channel" not in node.value:
        node.fail("missing 'channel'")
    channel = paper.channel(node.child("channel"))
    post = read_post(node, channel, dated=False, extra=("channel",))
    last = max(paper.ever[channel], default=0)
    if post.id <= last:
        node.child("id").fail(f"post ids of {channel} must increase: {post.id} after {last}")
    fwd = post.fwd_from
    if fwd is not None and fwd.channel is not None:
        origin = paper.channel(node.child("fwd_from").child("channel"))
        paper.existing(node.child("fwd_from").child("id"), origin)
    if post.reply_to is not None and post.reply_to not in paper.ever[channel]:
        node.child("reply_to").fail(f"{channel} has no post {post.reply_to} to reply to")
    paper.posts[channel].add(post.id)
    paper.ever[channel].add(post.id)
    if channel in paper.group_last:
        paper.group_last[channel] += 1          # the post's copy in the discussion group
    return Post(post)


def _comment_of(node: Node, channel: str, paper: _Paper) -> int:
    mid = node.integer(minimum=1)
    if mid not in paper.comments[channel]:
        node.fail(f"{channel}'s discussion group has no comment {mid} at this time")
    return mid


def _is_comment(f: dict[str, Node], channel: str, paper: _Paper) -> bool:
    comment = f["comment"].boolean() if "comment" in f else False
    if comment and channel not in paper.group_last:
        f["comment"].fail(f"{channel} has no discussion group")
    return comment


def _edit(node: Node, at: datetime, paper: _Paper) -> Edit:
    f = node.fields(required=("channel", "id", "text"),
                    optional=("entities", "media", "comment"))
    channel = paper.channel(f["channel"])
    text = f["text"].text(empty=False)
    comment = _is_comment(f, channel, paper)
    mid = _comment_of(f["id"], channel, paper) if comment else paper.existing(f["id"], channel)
    return Edit(channel, mid, text,
                read_entities(f["entities"], text) if "entities" in f else (),
                read_media(f["media"]) if optional(f, "media") else None, comment)


def _delete(node: Node, at: datetime, paper: _Paper) -> Delete:
    f = node.fields(required=("channel", "ids"), optional=("comment",))
    channel = paper.channel(f["channel"])
    comment = _is_comment(f, channel, paper)
    ids = tuple(_comment_of(n, channel, paper) if comment else paper.existing(n, channel)
                for n in f["ids"].items())
    if not ids:
        f["ids"].fail("name at least one post id")
    if len(set(ids)) != len(ids):
        f["ids"].fail("an id is listed twice")
    if comment:
        for mid in ids:
            del paper.comments[channel][mid]
    else:
        paper.posts[channel] -= set(ids)
    return Delete(channel, ids, comment)


def _comment(node: Node, at: datetime, paper: _Paper) -> Comment:
    f = node.fields(required=("channel", "post", "id", "from", "text"), optional=("reply_to",))
    channel = paper.channel(f["channel"])
    if channel not in paper.group_last:
        f["channel"].fail(f"{channel} has no discussion group (give the channel "
                          '"discussion": {"id": ..., "title": ...})')
    post = paper.existing(f["post"], channel)
    mid = f["id"].integer(minimum=1)
    if mid <= paper.group_last[channel]:
        f["id"].fail(f"message ids of {channel}'s discussion group must increase: {mid} after "
                     f"{paper.group_last[channel]} (each post has a copy there)")
    reply_to = None
    if "reply_to" in f:
        reply_to = _comment_of(f["reply_to"], channel, paper)
        if paper.comments[channel][reply_to] != post:
            f["reply_to"].fail(f"comment {reply_to} is on another post")
    paper.group_last[channel] = mid
    paper.comments[channel][mid] = post
    return Comment(channel, post, mid, paper.user(f["from"]), f["text"].text(empty=False),
                   reply_to)


def _views(node: Node, at: datetime, paper: _Paper) -> Views:
    f = node.fields(required=("channel", "id"), optional=("views", "forwards", "reactions"))
    channel = paper.channel(f["channel"])
    if not {"views", "forwards", "reactions"} & set(f):
        node.fail("give views, forwards or reactions")
    return Views(channel, paper.existing(f["id"], channel),
                 f["views"].integer(minimum=0) if "views" in f else None,
                 f["forwards"].integer(minimum=0) if "forwards" in f else None,
                 read_reactions(f["reactions"]) if "reactions" in f else None)


def _message(node: Node, at: datetime, paper: _Paper) -> Message:
    f = node.fields(required=("from", "text"), optional=("chat",))
    user = paper.user(f["from"])
    return Message(user, f["text"].text(empty=False), paper.group(optional(f, "chat"), user))


def _press(node: Node, at: datetime, paper: _Paper) -> Press:
    f = node.fields(required=("from", "data"), optional=("chat",))
    user = paper.user(f["from"])
    data = f["data"].text(empty=False)
    if len(data.encode()) > CALLBACK_DATA_MAX:
        f["data"].fail(f"callback data is at most {CALLBACK_DATA_MAX} bytes")
    return Press(user, data, paper.group(optional(f, "chat"), user))


def _fault(node: Node, at: datetime, paper: _Paper) -> Fault:
    if not isinstance(node.value, dict) or "kind" not in node.value:
        node.fail(f"missing 'kind' (one of {', '.join(FAULTS)})")
    kind = node.child("kind").choice(FAULTS)
    required, extra = FAULTS[kind]
    f = node.fields(required=("kind", *required), optional=extra)
    until = f["until"].time() if "until" in f else None
    if until is not None and not at < until <= paper.scenario.end:
        f["until"].fail(f"must be after the event's time and not after end "
                        f"({paper.scenario.end.isoformat()})")
    method = f["method"].text() if "method" in f else None
    if method is not None and request_class(method) is None:
        f["method"].fail(f"unknown method {method!r} (Telegram's name, e.g. messages.getHistory)")
    if kind == "app_down":
        if paper.down_until is not None and at < paper.down_until:
            node.fail(f"the app is already down until {paper.down_until.isoformat()}")
        paper.down_until = until
    to = optional(f, "to")
    if to is not None and username(to).lower() in paper.channels:
        to.fail(f"{to.value!r} is another scenario channel's username")
    client = f["client"].choice(CLIENTS) if "client" in f else None
    account = f["account"].choice(paper.scenario.accounts) if "account" in f else None
    if account is not None:
        if client == "bot":
            f["account"].fail("names a watching account: the client is 'user'")
        client = "user"
    if kind in ENDING and client is None:
        node.fail("missing 'client' (user or bot; or 'account': a watching account)")
    channel = paper.channel(f["channel"]) if "channel" in f else None
    post_id = None
    if "id" in f:
        assert channel is not None
        post_id = paper.existing(f["id"], channel)
    return Fault(
        kind, until, f["seconds"].number(minimum=0.001) if "seconds" in f else None, method,
        client, account, paper.user(f["user"]) if "user" in f else None,
        channel, username(to) if to else None, post_id)


_READERS = {"post": _post, "edit": _edit, "delete": _delete, "views": _views,
            "comment": _comment,
            "message": _message, "press": _press, "fault": _fault}
