"""Plain frozen records of the log: what Telegram says about a post, and what tgmon kept.

The Telethon adapter and the export importer both produce :class:`Post`; storage,
rules, alerts, digests and exports consume it. No Telethon types beyond this point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CapturePath(StrEnum):
    """How a post first reached the log."""

    LIVE = "live"            # pushed by Telegram while tgmon ran
    CATCH_UP = "catch-up"    # read after downtime, or by a reconcile that found a missed push
    BACKFILL = "backfill"    # older history read on request (tgmon backfill)
    IMPORT = "import"        # from a Telegram Desktop export file


@dataclass(frozen=True)
class Entity:
    """A formatting entity; ``offset`` and ``length`` count UTF-16 code units, as Telegram does."""

    type: str                       # bold, italic, text_link, hashtag, mention, custom_emoji, ...
    offset: int
    length: int
    url: str | None = None          # text_link
    user_id: int | None = None      # mention_name
    language: str | None = None     # pre
    document_id: str | None = None  # custom_emoji


@dataclass(frozen=True)
class FileRef:
    """Where Telegram keeps a post's file: what ``upload.getFile`` needs to fetch it.

    ``file_reference`` expires (hours to days): reading the message again gives a fresh
    one (docs/media.md)."""

    type: str                       # "photo" or "document"
    id: int
    access_hash: int
    file_reference: bytes
    dc_id: int
    thumb_size: str = ""            # photos: the size fetched (its type letter, "y", "w")

    @property
    def key(self) -> str:
        """The file's identity within a post: ``photo:ID`` or ``document:ID``."""
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Media:
    kind: str                       # photo, video, animation, voice, audio, video_message,
                                    # sticker, document, poll, location, contact, webpage, other
    file_name: str | None = None
    size: int | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    # The file to download, when the post came from Telegram (not from an export);
    # not part of the media's identity (a fresh reference is the same media).
    file: FileRef | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ForwardOrigin:
    channel_id: int | None = None   # origin channel (bare id), when Telegram reveals it
    message_id: int | None = None
    date: datetime | None = None
    name: str | None = None         # origin's display name (the only field of hidden origins)


@dataclass(frozen=True)
class Reaction:
    emoji: str                      # the emoji, or "custom:<document id>" for custom emoji
    count: int


@dataclass(frozen=True)
class Restriction:
    platform: str                   # "all", "android", "ios", ...
    reason: str                     # "porn", "copyright", "terms", ...
    text: str


@dataclass(frozen=True)
class WebPage:
    """A link preview."""

    url: str | None = None
    site: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PollAnswer:
    text: str
    voters: int | None = None       # None until results are shown


@dataclass(frozen=True)
class Poll:
    question: str
    answers: tuple[PollAnswer, ...] = ()
    total_voters: int | None = None
    closed: bool = False
    quiz: bool = False


@dataclass(frozen=True)
class PostDetails:
    """What else a message says that decides how a researcher reads it (kept in
    ``post_details`` (migration post_details); absent when all is default)."""

    restrictions: tuple[Restriction, ...] = ()
    noforwards: bool = False
    pinned: bool = False
    webpage: WebPage | None = None
    poll: Poll | None = None
    geo: dict[str, object] | None = None       # {"lat", "long"} (+ "title", "address" of a venue)
    contact: dict[str, object] | None = None   # {"phone", "first_name", "last_name", "user_id"}
    dice: dict[str, object] | None = None      # {"emoticon", "value"}
    topic_id: int | None = None                # forum topic (groups)
    via_bot_id: int | None = None
    sender_id: int | None = None               # who sent it, in a group (not the channel)
    sender_name: str | None = None
    comments_max_id: int | None = None         # its newest comment (discussion group id)

    @property
    def empty(self) -> bool:
        return self == PostDetails()


@dataclass(frozen=True)
class ServiceMessage:
    """A service message of a channel (title or photo changed, a post pinned, ...)."""

    channel_id: int
    message_id: int
    date: datetime
    action: str                     # edit_title, edit_photo, pin_message, channel_create, ...
    detail: dict[str, object]       # the action's fields: {"title": ...}, {"message_id": ...}


@dataclass(frozen=True)
class Post:
    """One channel message as Telegram shows it at one moment."""

    channel_id: int                 # bare MTProto id (the one in t.me/c/<id>/<msg>)
    message_id: int
    date: datetime                  # aware, UTC
    text: str = ""
    entities: tuple[Entity, ...] = ()
    views: int | None = None
    forwards: int | None = None
    replies: int | None = None
    reactions: tuple[Reaction, ...] = ()
    media: Media | None = None
    forward: ForwardOrigin | None = None
    reply_to_id: int | None = None
    grouped_id: int | None = None   # album: posts of one album share it
    author: str | None = None       # post signature
    edit_date: datetime | None = None
    details: PostDetails | None = None   # None: not read from Telegram (imports)


@dataclass(frozen=True)
class Comment:
    """A comment on a channel post: a message of the channel's discussion group in the
    post's thread."""

    group_id: int                   # the discussion group (bare id)
    comment_id: int                 # message id in the group
    channel_id: int
    post_id: int                    # the channel post it comments on
    date: datetime
    text: str = ""
    entities: tuple[Entity, ...] = ()
    from_id: int | None = None      # the person (or chat) who wrote it
    from_name: str | None = None
    from_username: str | None = None
    reply_to: int | None = None     # the comment it answers (None: the post itself)
    media: Media | None = None
    edit_date: datetime | None = None


def comment_url(username: str | None, channel_id: int, post_id: int, comment_id: int) -> str:
    return f"{post_url(username, channel_id, post_id)}?comment={comment_id}"


@dataclass(frozen=True)
class Channel:
    channel_id: int
    username: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class StoredPost:
    """A post as the log holds it: the latest version plus what tgmon knows about it."""

    post: Post
    channel: Channel
    captured_via: CapturePath
    first_seen: datetime
    last_seen: datetime
    deleted_at: datetime | None = None
    version: int = 1

    @property
    def url(self) -> str:
        return post_url(self.channel.username, self.post.channel_id, self.post.message_id)


@dataclass(frozen=True)
class PostVersion:
    """One distinct version of a post's text and media, as first seen at ``seen_at``."""

    channel_id: int
    message_id: int
    version: int
    text: str
    media: Media | None
    edit_date: datetime | None
    seen_at: datetime


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets
    (astral characters, most emoji, count 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def channel_url(username: str | None, channel_id: int) -> str:
    """Public link when the username is known, else the members-only ``t.me/c/`` link."""
    return f"https://t.me/{username}" if username else f"https://t.me/c/{channel_id}"


def post_url(username: str | None, channel_id: int, message_id: int) -> str:
    """Public link when the username is known, else the members-only ``t.me/c/`` link."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{channel_id}/{message_id}"
