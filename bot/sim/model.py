"""The simulated Telegram's state: channels and their posts, the accounts tgmon logs
in as (one or more watching user accounts and the bot), the people who talk to the bot, groups,
and the record of what passed between the bot and people.

Plain mutable records; :mod:`bot.sim.render` turns them into TL objects as a given
account sees them, :mod:`bot.sim.world` changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.models import Poll, Restriction, WebPage

MEDIA_KINDS = ("photo", "video", "animation", "document", "audio", "voice")


@dataclass(frozen=True)
class ContentSpec:
    """Where a simulated file's bytes come from (a scenario's media keys; see
    :mod:`bot.sim.files`)."""

    path: Path | None = None        # a real file
    bytes: int | None = None        # generated content of this length ...
    seed: int | None = None         # ... from this seed (photos: the picture's seed)
    quality: int | None = None      # photos drawn from a seed: JPEG quality (1-95)


@dataclass(frozen=True)
class MediaSpec:
    kind: str                       # one of MEDIA_KINDS
    file_name: str | None = None
    size: int = 0
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    content: ContentSpec | None = None


@dataclass(frozen=True)
class EntitySpec:
    type: str                       # Telegram's name: bold, text_link, hashtag...
    offset: int                     # UTF-16 code units
    length: int
    url: str | None = None


@dataclass(frozen=True)
class ForwardSpec:
    """Where a forwarded post came from: a channel's post, or a hidden name."""

    channel_id: int | None = None
    message_id: int | None = None
    date: datetime | None = None
    name: str | None = None
    author: str | None = None


@dataclass
class ChannelPost:
    id: int
    date: datetime
    text: str = ""
    entities: tuple[EntitySpec, ...] = ()
    views: int | None = None
    forwards: int | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    media: MediaSpec | None = None
    fwd: ForwardSpec | None = None
    reply_to: int | None = None
    grouped_id: int | None = None
    author: str | None = None
    edit_date: datetime | None = None
    file: Any = None                # the bot.sim.files.SimFile of its media, if any
    poll: Poll | None = None
    webpage: WebPage | None = None          # a link preview
    restrictions: tuple[Restriction, ...] = ()
    noforwards: bool = False
    pinned: bool = False
    service: str | None = None              # a service message: its action (edit_title,
    service_detail: dict[str, Any] = field(default_factory=dict)   # pin_message, ...)
    # Discussion groups: a channel post's comment count and newest comment id; a group
    # message's sender, the channel post whose thread it is in, and the group copy of
    # that post when it answers another comment.
    comments: int = 0
    comments_max: int = 0
    from_id: int | None = None
    thread: int | None = None
    reply_top: int | None = None


@dataclass
class ChannelEvent:
    """One entry of a channel's pts sequence (what getChannelDifference replays)."""

    pts: int
    pts_count: int
    kind: str                       # "new" (message id in `ref`) or "other" (TL update)
    ref: Any


@dataclass
class Channel:
    id: int
    username: str | None
    title: str
    created: datetime
    posts: dict[int, ChannelPost] = field(default_factory=dict)
    pts: int = 1
    log: list[ChannelEvent] = field(default_factory=list)
    members: set[int] = field(default_factory=set)    # account ids that joined
    banned: set[int] = field(default_factory=set)     # account ids that lost access
    last_id: int = 0
    origin: str | None = None       # the username it was created with (how scenarios
                                    # and tests keep naming it after a change)
    megagroup: bool = False         # a discussion group (a supergroup), not a broadcast
    discussion: int | None = None   # a channel's linked discussion group
    linked: int | None = None       # a discussion group's channel
    copies: dict[int, int] = field(default_factory=dict)   # channel post -> group copy

    def ref(self) -> str:
        return self.origin or self.username or str(self.id)


@dataclass
class AccountEvent:
    """One entry of an account's pts sequence (what getDifference replays)."""

    pts: int
    pts_count: int
    update: Any                     # the TL update (UpdateNewMessage, UpdateEditMessage...)
    users: list[Any]                # TL users and chats it mentions, as the account saw them
    chats: list[Any]


@dataclass
class Account:
    """An account a client logs in as: a watching user account or the bot."""

    id: int
    first_name: str
    username: str | None = None
    phone: str | None = None
    bot: bool = False
    name: str = "main"              # tgmon's name of a watching account
    join_limit: int = 500           # channels it may be a member of (CHANNELS_TOO_MUCH)
    pts: int = 1
    log: list[AccountEvent] = field(default_factory=list)
    last_message_id: int = 0        # private chats and basic groups number per account
    seen: dict[int, int] = field(default_factory=dict)   # channel id -> pts delivered


@dataclass
class Person:
    """Someone who talks to the bot (not a client of the simulation)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    blocked_bot: bool = False
    started_bot: bool = False       # wrote to the bot at least once


@dataclass
class Group:
    """A basic group the bot is a member of."""

    id: int
    title: str
    created: datetime
    members: set[int] = field(default_factory=set)


@dataclass
class ChatMessage:
    """A message between the bot and a person, private or in a group, as the person sees it."""

    id: int                         # message id in the bot's numbering
    at: datetime
    chat_id: int                    # Bot API style: the user id, or -group id
    sender_id: int
    out: bool                       # sent by the bot
    text: str
    entities: tuple[EntitySpec, ...] = ()
    file: dict[str, Any] | None = None      # {"name", "size"} of a file or photo
    buttons: tuple[bytes, ...] = ()         # callback data of its inline buttons
    reply_markup: Any = None                # TL, as sent
    media: Any = None                       # TL, as stored
    reply_to: int | None = None
    edited: bool = False


@dataclass(frozen=True)
class CallbackAnswer:
    at: datetime
    query_id: int
    user_id: int
    message: str | None
    alert: bool


@dataclass(frozen=True)
class RequestRecord:
    at: datetime
    account_id: int
    role: str
    request: Any
