"""The words of a digest, independent of the output format.

A :class:`Layout` is a head and sections of blocks of lines; a line is a sequence of
spans of plain text, some bold, italic or linked. Every item is one block, and a block
is never split across messages unless it alone is too long for one. The Telegram,
terminal and web renderers only decide how spans and lines are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.digest.build import channel_label
from bot.digest.excerpt import shorten
from bot.digest.model import (
    ChannelSummary,
    DeletionItem,
    Digest,
    EditItem,
    PhotoStory,
    PostItem,
    RuleSection,
    SilentChannel,
    TextChange,
    UnreadableChannel,
)
from storage.digest_queries import Period

# Month names spelled out here, not by the C locale: the same digest on every machine.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BULLET = "• "
SEP = " · "
# Labels and reasons come from people; a line stays short whatever they typed.
LABEL_WIDTH = 200
# Why a channel's listed posts are these, when it is not by views (imported exports
# carry no view counts).
RANKED_BY = {
    "engagement": "no view counts: top posts by forwards, replies and reactions",
    "time": "no view or engagement counts: the period's first posts, in time order",
}


@dataclass(frozen=True)
class Span:
    text: str
    style: str = ""               # "", "b" (bold) or "i" (italic)
    url: str | None = None


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Block:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Layout:
    head: tuple[Line, ...]
    sections: tuple[Section, ...]


# ---- numbers, times ----------------------------------------------------------

def fmt_count(n: int) -> str:
    """Compact counts: 950, 1.2K, 45K, 1.3M."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "K"
    if n < 1_000_000:
        return f"{n // 1000}K"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} " + (word if n == 1 else many or f"{word}s")


def fmt_time(dt: datetime, tz: tzinfo, year: int | None = None) -> str:
    """``12 Mar 08:00``; with the year (``12 Mar 2023 08:00``) when it is not ``year``,
    the digest's current one."""
    local = dt.astimezone(tz)
    shown = f" {local.year}" if year is not None and local.year != year else ""
    return f"{local.day} {_MONTHS[local.month - 1]}{shown} {local:%H:%M}"


@dataclass(frozen=True)
class Dates:
    """How a digest's items show times: in the reader's zone, with the year when it is
    not the digest's current year."""

    tz: tzinfo
    year: int

    def at(self, dt: datetime) -> str:
        return fmt_time(dt, self.tz, self.year)


def fmt_date_time(dt: datetime, tz: tzinfo) -> str:
    local = dt.astimezone(tz)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M}"


def tz_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def fmt_period(period: Period, tz: tzinfo) -> str:
    return (f"{fmt_date_time(period.start, tz)} – {fmt_date_time(period.end, tz)} "
            f"({tz_name(tz)})")


def fmt_span(td: timedelta) -> str:
    """A duration for people: 45 min, 7 h, 2 d 5 h."""
    minutes = int(td.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d" + (f" {hours % 24} h" if hours % 24 else "")


def _cap(text: str, width: int = LABEL_WIDTH) -> str:
    return shorten(text, width)


# ---- items -------------------------------------------------------------------

def _reach(item: PostItem) -> str:
    parts = []
    if item.views is not None:
        parts.append(f"{fmt_count(item.views)} views")
        if item.gained_24h is not None:       # engagement samples tell how it grew
            parts[-1] += f", +{fmt_count(item.gained_24h)} in the last 24 h"
        elif item.at_1h is not None:
            parts[-1] += f", {fmt_count(item.at_1h)} at 1 h"
    if item.forwards:
        parts.append(f"{fmt_count(item.forwards)} fwd")
    if item.views is None:                # imported posts: what engagement there is
        if item.replies:
            parts.append(plural(item.replies, "reply", "replies"))
        if item.reactions:
            parts.append(plural(item.reactions, "reaction"))
    if item.album_size > 1:
        parts.append(f"album of {item.album_size}")
    if item.deleted:
        parts.append("deleted")
    return "".join(SEP + p for p in parts)


def _post_line(item: PostItem, when: Dates, *, with_channel: bool) -> Line:
    time = when.at(item.date)
    label = f"{_cap(channel_label(item.channel), 60)}{SEP}{time}" if with_channel else time
    return (Span(BULLET), Span(label, url=item.url), Span(f" {item.excerpt}{_reach(item)}"))


def _channel_block(c: ChannelSummary, when: Dates) -> Block:
    name = Span(_cap(channel_label(c.channel), 100), "b", c.url)
    if c.posts:
        head: Line = (name, Span(f" — {plural(c.posts, 'post')}"))
    elif c.last_post is not None:
        head = (name, Span(f" — no posts (last {when.at(c.last_post)})"))
    else:
        head = (name, Span(" — no posts yet"))
    if c.top and c.ranked_by in RANKED_BY:
        head = (*head, Span(f" ({RANKED_BY[c.ranked_by]})", "i"))
    return Block((head, *(_post_line(p, when, with_channel=False) for p in c.top)))


def _rule_block(r: RuleSection, when: Dates) -> Block:
    head: Line = (Span(_cap(r.label), "b"),
                  Span(f" — {plural(r.matches, 'match', 'matches')}"))
    return Block((head, *(_post_line(p, when, with_channel=True) for p in r.top)))


def _change(c: TextChange) -> str:
    if not c.before:
        return f"+«{c.after}»"
    if not c.after:
        return f"−«{c.before}»"
    return f"«{c.before}» → «{c.after}»"


def _edit_block(e: EditItem, when: Dates) -> Block:
    p = e.post
    what = [_change(c) for c in e.changes]
    if e.more_changes:
        what.append(f"and {e.more_changes} more")
    if e.media_change:
        before, after = e.media_change
        what.append(f"media: {before or 'none'} → {after or 'none'}")
    times = f" {e.edits}×" if e.edits > 1 else ""
    # A version with the same text and kind of media: the media file itself was replaced.
    text = "; ".join(what) or "media replaced"
    line: Line = (Span(BULLET),
                  Span(f"{_cap(channel_label(p.channel), 60)}{SEP}{when.at(p.date)}",
                       url=p.url),
                  Span(f" {p.excerpt} — edited{times} (seen {when.at(e.seen_at)}): {text}"))
    return Block((line,))


def _deletion_block(d: DeletionItem, when: Dates) -> Block:
    p = d.post
    album = f", album of {p.album_size}" if p.album_size > 1 else ""
    line: Line = (Span(BULLET),
                  Span(f"{_cap(channel_label(p.channel), 60)}{SEP}{when.at(p.date)}",
                       url=p.url),
                  Span(f" deleted (noticed {when.at(d.deleted_at)}{album}): "),
                  Span(p.excerpt, "i"))
    return Block((line,))


def _photo_block(s: PhotoStory, when: Dates) -> Block:
    first, *others = s.posts
    head: Line = (Span(BULLET),
                  Span(f"{_cap(channel_label(first.channel), 60)}{SEP}{when.at(first.date)}",
                       url=first.url),
                  Span(f" — the same photo in {s.channels} channels; also:"))
    rest = tuple((Span("  "), Span(f"{_cap(channel_label(p.channel), 60)}{SEP}"
                                   f"{when.at(p.date)}", url=p.url)) for p in others)
    return Block((head, *rest))


def _silent_block(s: SilentChannel, when: Dates) -> Block:
    line: Line = (Span(BULLET), Span(_cap(channel_label(s.channel), 100), url=s.url),
                  Span(f": no posts for {fmt_span(s.silent_for)} (last "
                       f"{when.at(s.last_post)}); usually at most "
                       f"{fmt_span(s.usual_gap)} between posts"))
    return Block((line,))


def _unreadable_block(u: UnreadableChannel) -> Block:
    line: Line = (Span(BULLET), Span(_cap(channel_label(u.channel), 100), url=u.url),
                  Span(f": {_cap(u.reason) or 'could not be read'}"))
    return Block((line,))


def _more(shown: int, total: int, what: str) -> tuple[Block, ...]:
    if total <= shown:
        return ()
    return (Block(((Span(f"… and {total - shown:,} more {what}, less viewed", "i"),),),),)


def summary_line(d: Digest) -> str:
    parts = [f"{plural(d.total_posts, 'post')} in {plural(len(d.channels), 'channel')}"]
    if d.edits_total:
        parts.append(f"{d.edits_total:,} edited")
    if d.deletions_total:
        parts.append(f"{d.deletions_total:,} deleted")
    if d.silent:
        parts.append(f"{len(d.silent)} silent")
    if d.unreadable:
        parts.append(f"{len(d.unreadable)} unreadable")
    return SEP.join(parts)


def layout(d: Digest, tz: tzinfo, year: int | None = None) -> Layout:
    """``year``: the current year, which item dates leave out (default: the year the
    period ends in, in ``tz``)."""
    when = Dates(tz, year if year is not None else d.period.end.astimezone(tz).year)
    head: tuple[Line, ...] = (
        (Span("tgmon digest", "b"),),
        (Span(fmt_period(d.period, tz)),),
        (Span(summary_line(d)),),
    )
    sections: list[Section] = []
    if d.channels:
        sections.append(Section("Channels", tuple(_channel_block(c, when) for c in d.channels)))
    else:
        sections.append(Section("Channels", (Block(((Span("No channels in the log yet."),),)),)))
    if d.most_commented:
        sections.append(Section("Most commented", tuple(
            Block((_post_line(p, when, with_channel=True)
                   + ((Span(SEP + plural(p.replies or 0, "comment")),)
                      if p.views is not None else ()),)) for p in d.most_commented)))
    if d.rules:                       # a subscriber without rules gets no empty section
        sections.append(Section("Your rules", tuple(_rule_block(r, when) for r in d.rules)))
    if d.edits_total:
        sections.append(Section("Edited", tuple(_edit_block(e, when) for e in d.edits)
                                + _more(len(d.edits), d.edits_total, "edited posts")))
    if d.deletions_total:
        sections.append(Section("Deleted", tuple(_deletion_block(x, when) for x in d.deletions)
                                + _more(len(d.deletions), d.deletions_total, "deleted posts")))
    if d.same_photo:
        more = d.same_photo_total - len(d.same_photo)
        sections.append(Section("Same photo in several channels",
                                tuple(_photo_block(s, when) for s in d.same_photo)
                                + ((Block(((Span(f"… and {more:,} more", "i"),),),),)
                                   if more > 0 else ())))
    if d.silent:
        sections.append(Section("Silent for longer than usual",
                                tuple(_silent_block(s, when) for s in d.silent)))
    if d.unreadable:
        sections.append(Section("Could not be read",
                                tuple(_unreadable_block(u) for u in d.unreadable)))
    return Layout(head, tuple(sections))
