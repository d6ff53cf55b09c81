"""Building a digest: a pure function from the period's material to :class:`Digest`.

Deterministic: the same material, rules and unreadable channels always give the same
digest. Every ordering has a tie-break down to the message id, and nothing reads the
clock or the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.digest.excerpt import excerpt, word_changes
from bot.digest.model import (
    ChannelHours,
    ChannelSummary,
    DeletionItem,
    Digest,
    EditItem,
    PhotoStory,
    PostItem,
    RuleSection,
    SilentChannel,
    UnreadableChannel,
)
from bot.digest.rule_matches import RuleMatches
from bot.digest.silence import silence
from bot.media.phash import groups
from storage.digest_queries import ChannelActivity, DigestMaterial, Period, PeriodPhoto, TopPost
from storage.metrics import Growth
from storage.models import Channel, StoredPost, post_url

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DigestStyle:
    """How much text the items show."""

    excerpt_width: int = 120      # a top post or a rule match
    edit_context_width: int = 60  # which post an edit is about
    archived_width: int = 300     # a deleted post's archived text: the point of the item
    change_width: int = 60        # each side of one change of an edit
    changes_shown: int = 3        # changes of an edit shown before "and N more"


def channel_label(channel: Channel) -> str:
    """How a channel is named to people: its title, else @username, else its id."""
    if channel.title and channel.title.strip():
        return channel.title.strip()
    if channel.username:
        return f"@{channel.username}"
    return str(channel.channel_id)


def channel_url(channel: Channel, last_message_id: int | None) -> str | None:
    """The channel's page, or its latest post when it has no public username."""
    if channel.username:
        return f"https://t.me/{channel.username}"
    if last_message_id is not None:
        return post_url(None, channel.channel_id, last_message_id)
    return None


def _channel_key(channel: Channel) -> tuple[str, int]:
    return (channel_label(channel).casefold(), channel.channel_id)


def post_item(stored: StoredPost, width: int, album_size: int = 1,
              growth: Growth | None = None) -> PostItem:
    p = stored.post
    return PostItem(
        channel=stored.channel, message_id=p.message_id, url=stored.url, date=p.date,
        excerpt=excerpt(p.text, width, p.media.kind if p.media else None),
        views=p.views, forwards=p.forwards, deleted=stored.deleted_at is not None,
        album_size=album_size, replies=p.replies,
        reactions=sum(r.count for r in p.reactions),
        gained_24h=growth.gained_24h if growth else None,
        at_1h=growth.at_1h if growth else None)


def hour_starts(period: Period) -> tuple[datetime, ...]:
    """The start of every UTC clock hour that overlaps the period."""
    first = period.start.replace(minute=0, second=0, microsecond=0)
    out = []
    t = first
    while t < period.end:
        out.append(t)
        t += HOUR
    return tuple(out)


def _channels(material: DigestMaterial, style: DigestStyle) -> tuple[ChannelSummary, ...]:
    tops: dict[int, list[TopPost]] = {}
    for t in material.top_posts:
        tops.setdefault(t.stored.post.channel_id, []).append(t)
    out = []
    for a in material.channels:
        mine = tops.get(a.channel.channel_id, [])
        # The most viewed, then those only among the most forwarded; in a channel
        # without view counts, by engagement (or time) instead.
        by_views = sorted((t for t in mine if t.views_rank is not None),
                          key=lambda t: t.views_rank or 0)
        by_forwards = sorted((t for t in mine if t.views_rank is None
                              and t.forwards_rank is not None),
                             key=lambda t: t.forwards_rank or 0)
        by_engagement = sorted((t for t in mine if t.engagement_rank is not None),
                               key=lambda t: t.engagement_rank or 0)
        top = tuple(post_item(t.stored, style.excerpt_width, t.album_size, t.growth)
                    for t in by_views + by_forwards + by_engagement)
        ranked_by = "views"
        if by_engagement:
            ranked_by = ("engagement" if any(_engaged(t.stored) for t in by_engagement)
                         else "time")
        out.append(ChannelSummary(a.channel, channel_url(a.channel, a.last_message_id),
                                  a.posts, a.last_post, top, ranked_by))
    out.sort(key=lambda c: (-c.posts, *_channel_key(c.channel)))
    return tuple(out)


def _engaged(stored: StoredPost) -> bool:
    p = stored.post
    return bool(p.forwards or p.replies or any(r.count for r in p.reactions))


def _rules(rules: Sequence[RuleMatches], style: DigestStyle) -> tuple[RuleSection, ...]:
    # The subscriber's own order of rules is kept.
    return tuple(RuleSection(r.label, r.matches,
                             tuple(post_item(sp, style.excerpt_width) for sp in r.top))
                 for r in rules)


def _silent(activity: Sequence[ChannelActivity], end: datetime,
            skip: set[int]) -> tuple[SilentChannel, ...]:
    out = []
    for a in activity:
        if a.channel.channel_id in skip:
            continue
        quiet = silence(a, end)
        if quiet is None or a.last_post is None or a.usual_gap is None:
            continue
        url = (post_url(a.channel.username, a.channel.channel_id, a.last_message_id)
               if a.last_message_id is not None else channel_url(a.channel, None))
        out.append(SilentChannel(a.channel, url, a.last_post, quiet, a.usual_gap))
    out.sort(key=lambda s: (-s.silent_for, *_channel_key(s.channel)))
    return tuple(out)


def _unreadable(unreadable: Sequence[tuple[Channel, str]],
                activity: Sequence[ChannelActivity]) -> tuple[UnreadableChannel, ...]:
    last = {a.channel.channel_id: a.last_message_id for a in activity}
    seen: dict[int, UnreadableChannel] = {}
    for channel, reason in unreadable:
        seen.setdefault(channel.channel_id, UnreadableChannel(
            channel, channel_url(channel, last.get(channel.channel_id)), reason.strip()))
    return tuple(sorted(seen.values(), key=lambda u: _channel_key(u.channel)))


def _activity(material: DigestMaterial, hours: tuple[datetime, ...],
              order: Sequence[ChannelSummary]) -> tuple[ChannelHours, ...]:
    index = {h: i for i, h in enumerate(hours)}
    counts: dict[int, list[int]] = {}
    for h in material.hourly:
        i = index.get(h.hour)
        if i is not None:
            counts.setdefault(h.channel_id, [0] * len(hours))[i] += h.posts
    return tuple(ChannelHours(c.channel, tuple(counts[c.channel.channel_id]))
                 for c in order if c.channel.channel_id in counts)


SAME_PHOTO_SHOWN = 10            # stories of one picture listed; more are counted


def _same_photo(material: DigestMaterial) -> tuple[tuple[PhotoStory, ...], int]:
    """The pictures posted by more than one channel, the most widely posted first."""
    channels = {a.channel.channel_id: a.channel for a in material.channels}
    photos = {(p.channel_id, p.message_id): p for p in material.photos}
    stories = []
    for members in groups(((p.channel_id, p.message_id), p.phash) for p in material.photos):
        shown = sorted((photos[k] for k in members),
                       key=lambda p: (p.date, p.channel_id, p.message_id))
        if len({p.channel_id for p in shown}) < 2:
            continue                    # one channel posting its picture twice
        stories.append(PhotoStory(tuple(_photo_item(p, channels) for p in shown)))
    stories.sort(key=lambda s: (-s.channels, s.posts[0].date, s.posts[0].channel.channel_id,
                                s.posts[0].message_id))
    return tuple(stories[:SAME_PHOTO_SHOWN]), len(stories)


def _photo_item(p: PeriodPhoto, channels: dict[int, Channel]) -> PostItem:
    channel = channels.get(p.channel_id) or Channel(p.channel_id, None, None)
    return PostItem(channel=channel, message_id=p.message_id,
                    url=post_url(channel.username, channel.channel_id, p.message_id),
                    date=p.date, excerpt="[photo]")


def build_digest(material: DigestMaterial, *, rules: Sequence[RuleMatches] | None = None,
                 unreadable: Sequence[tuple[Channel, str]] = (),
                 style: DigestStyle | None = None) -> Digest:
    """The digest of ``material``'s period.

    ``rules``: what each of the subscriber's rules matched (None: no rules section, as in
    ``tgmon digest``). ``unreadable``: ``(channel, reason)`` of channels the watcher
    could not read; they are listed as such and never also called silent.
    """
    style = style or DigestStyle()
    period = material.period
    channels = _channels(material, style)
    rank = {c.channel.channel_id: i for i, c in enumerate(channels)}

    def display_key(item: PostItem) -> tuple[int, int]:
        return (rank.get(item.channel.channel_id, len(rank)), item.message_id)

    edits = []
    for e in material.edits:
        changes, more = word_changes(e.before, e.after, limit=style.changes_shown,
                                     width=style.change_width)
        media = ((e.media_before, e.media_after) if e.media_before != e.media_after else None)
        edits.append(EditItem(post_item(e.stored, style.edit_context_width), changes, more,
                              media, e.edits, e.last_seen))
    edits.sort(key=lambda e: display_key(e.post))
    deletions = [DeletionItem(post_item(d.stored, style.archived_width, d.album_size),
                              d.stored.deleted_at or period.end)
                 for d in material.deletions]
    deletions.sort(key=lambda d: display_key(d.post))
    gone = _unreadable(unreadable, material.channels)
    hours = hour_starts(period)
    same_photo, same_photo_total = _same_photo(material)
    return Digest(
        period=period,
        channels=channels,
        rules=None if rules is None else _rules(rules, style),
        edits=tuple(edits), edits_total=material.edits_total,
        deletions=tuple(deletions), deletions_total=material.deletions_total,
        silent=_silent(material.channels, period.end, {u.channel.channel_id for u in gone}),
        unreadable=gone,
        hours=hours,
        activity=_activity(material, hours, channels),
        most_commented=tuple(post_item(sp, style.excerpt_width)
                             for sp in material.most_commented),
        same_photo=same_photo, same_photo_total=same_photo_total,
    )
