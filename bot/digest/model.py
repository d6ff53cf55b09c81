"""A digest as plain frozen data: sections of items, each item with its link.

Built by :func:`bot.digest.build.build_digest`; rendered for Telegram, the terminal
and the web by the ``render_*`` modules. Texts here are plain (unescaped): renderers
escape them for their format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.digest_queries import Period
from storage.models import Channel


@dataclass(frozen=True)
class PostItem:
    """One post, as one line: where it is, when it was posted, an excerpt, its reach."""

    channel: Channel
    message_id: int
    url: str
    date: datetime
    excerpt: str                  # one line, already shortened
    views: int | None = None
    forwards: int | None = None
    deleted: bool = False
    album_size: int = 1
    replies: int | None = None
    reactions: int = 0            # all reactions together
    gained_24h: int | None = None  # views gained in the 24 h before the digest's end
    at_1h: int | None = None       # views soon after it turned 1 h old


@dataclass(frozen=True)
class ChannelSummary:
    channel: Channel
    url: str | None               # the channel, or its latest post when it has no username
    posts: int                    # posts in the period
    last_post: datetime | None    # its latest post before the period's end
    top: tuple[PostItem, ...]     # the most viewed, then the most forwarded
    # How ``top`` was chosen: "views" (and forwards); "engagement" (no view counts, as
    # in imported exports: by forwards, replies, reactions); "time" (no counts at all:
    # the period's first posts)
    ranked_by: str = "views"


@dataclass(frozen=True)
class RuleSection:
    """A subscriber's rule: how many posts of the period it matched, and the top ones."""

    label: str                    # the rule as the subscriber wrote it
    matches: int
    top: tuple[PostItem, ...]     # the most viewed matches


@dataclass(frozen=True)
class TextChange:
    """One change between two versions of a text, in words: ``before`` -> ``after``
    (an empty side is an insertion or a deletion)."""

    before: str
    after: str


@dataclass(frozen=True)
class EditItem:
    post: PostItem                # excerpt of the text as it is now
    changes: tuple[TextChange, ...]   # the first few changes, shortened
    more_changes: int             # changes not shown
    media_change: tuple[str | None, str | None] | None   # (before, after) media kinds
    edits: int                    # new versions seen in the period
    seen_at: datetime             # when tgmon saw the last of them


@dataclass(frozen=True)
class DeletionItem:
    post: PostItem                # excerpt of the archived text
    deleted_at: datetime          # when tgmon learnt of the deletion


@dataclass(frozen=True)
class SilentChannel:
    channel: Channel
    url: str | None               # the channel's latest post
    last_post: datetime
    silent_for: timedelta         # from its latest post to the period's end
    usual_gap: timedelta          # its usual longest pause (see bot.digest.silence)


@dataclass(frozen=True)
class UnreadableChannel:
    channel: Channel
    url: str | None
    reason: str


@dataclass(frozen=True)
class ChannelHours:
    """Posts per UTC hour of the period (aligned with :attr:`Digest.hours`)."""

    channel: Channel
    counts: tuple[int, ...]


@dataclass(frozen=True)
class PhotoStory:
    """The same picture (perceptual hash, :mod:`bot.media.phash`) posted by several
    channels in the period: its first post, then the others in time order."""

    posts: tuple[PostItem, ...]   # at least two, from at least two channels

    @property
    def channels(self) -> int:
        return len({p.channel.channel_id for p in self.posts})


@dataclass(frozen=True)
class Digest:
    period: Period
    channels: tuple[ChannelSummary, ...]
    rules: tuple[RuleSection, ...] | None     # None: no subscriber, no rules section
    edits: tuple[EditItem, ...]
    edits_total: int
    deletions: tuple[DeletionItem, ...]
    deletions_total: int
    silent: tuple[SilentChannel, ...]
    unreadable: tuple[UnreadableChannel, ...]
    hours: tuple[datetime, ...]               # UTC start of every hour of the period
    activity: tuple[ChannelHours, ...]        # channels with posts, the busiest first
    most_commented: tuple[PostItem, ...] = ()  # the period's posts with the most comments
    same_photo: tuple[PhotoStory, ...] = ()   # the most widely posted first (at most 10)
    same_photo_total: int = 0

    @property
    def total_posts(self) -> int:
        return sum(c.posts for c in self.channels)
