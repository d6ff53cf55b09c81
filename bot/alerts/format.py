"""Alerts as the bot sends them, in Telethon's HTML: pure functions over plain records.

Every piece of post and channel text is escaped; the words a rule matched are bold;
the post text is trimmed on a word boundary (with "…") so that the whole message stays
within Telegram's 4096 UTF-16 code units once the HTML is parsed. Tags are written
around whole pieces of text, so a cut never falls inside a tag or an entity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from itertools import accumulate
from zoneinfo import ZoneInfo

from bot.alerts.diff import Piece, with_context
from bot.delivery.fit import TEXT_LIMIT, telegram_length
from bot.rules.match import Span
from bot.timefmt import local
from storage.models import Channel, Media, Post, post_url, utf16_len

ELLIPSIS = "…"
# Kept free in every alert for a story's "Also posted by" line, added later by an edit.
STORY_RESERVE = 300
# The same, in an alert that goes as a photo's caption (1024 units in all).
CAPTION_STORY_RESERVE = 150
STORY_SHOWN = 5                 # channels named in that line; more are counted
RULE_SHOWN = 80                 # characters of a rule's text shown in an alert
REASONS_SHOWN = 3               # matching rules named; more are counted
_SNAP = 60                      # how far (characters) a cut looks for a word boundary


@dataclass(frozen=True)
class Reason:
    """Why a post alerted a chat: one of its rules, or its subscription to the channel."""

    rule_number: int | None     # the rule's number in /alerts; None: a subscription
    rule: str = ""              # the rule as the person wrote it
    found: str = ""             # what the rule found (Match.reason)


@dataclass(frozen=True)
class AlertView:
    """Everything a new-post alert shows."""

    post: Post                  # the version that alerted
    channel: Channel
    reasons: tuple[Reason, ...]
    spans: tuple[Span, ...] = ()            # matched words: code-point ranges of post.text
    forward_from: Channel | None = None     # the origin channel, when the log knows it
    late_by: timedelta | None = None        # how long after posting the alert was decided
    caught_up: bool = False                 # the post came by catch-up, not live


@dataclass(frozen=True)
class StoryMember:
    """Another channel's post of the same story."""

    channel: Channel
    message_id: int
    date: datetime
    same_photo: bool = False        # it shows the same photo (bot.media.phash)


# ---- small pieces ----

def human_duration(value: timedelta) -> str:
    """``2 h 5 min``, ``45 min``, ``3 d 4 h``; under a minute is ``<1 min``."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _clock(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


_MEDIA = {
    "photo": "📷 photo", "video": "🎬 video", "animation": "🎞 GIF",
    "voice": "🎤 voice message", "audio": "🎵 audio", "video_message": "⏺ video message",
    "sticker": "🏷 sticker", "document": "📎 file", "poll": "📊 poll",
    "location": "📍 location", "contact": "👤 contact", "webpage": "🔗 link preview",
}


def media_note(media: Media | None) -> str:
    """``🎬 video 0:42``, ``📎 file report.pdf (1.2 MB)``: plain text (escape it)."""
    if media is None:
        return ""
    note = _MEDIA.get(media.kind, "📎 attachment")
    if media.duration and media.kind in ("video", "voice", "audio", "video_message",
                                         "animation"):
        note += f" {_clock(media.duration)}"
    if media.file_name and media.kind in ("document", "audio"):
        name = media.file_name if len(media.file_name) <= 60 else media.file_name[:59] + ELLIPSIS
        note += f" {name}"
    if media.size and media.kind == "document":
        note += f" ({_size(media.size)})"
    return note


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1].rstrip() + ELLIPSIS


def channel_html(channel: Channel, *, title_max: int = 100) -> str:
    """``<b>Title</b> @username`` (the title alone when the channel has no username)."""
    title = escape(_cut(channel.title or channel.username or str(channel.channel_id), title_max))
    return f"<b>{title}</b> @{escape(channel.username)}" if channel.username else f"<b>{title}</b>"


def _link(channel: Channel, message_id: int) -> str:
    url = post_url(channel.username, channel.channel_id, message_id)
    return f'<a href="{escape(url)}">{escape(url.removeprefix("https://"))}</a>'


def _short_time(when: datetime, tz: str, reference: datetime) -> str:
    """The time alone when it is on the same local day as ``reference``."""
    zone = ZoneInfo(tz)
    same_day = when.astimezone(zone).date() == reference.astimezone(zone).date()
    return local(when, tz, with_date=not same_day)


def reason_lines(reasons: Sequence[Reason], channel: Channel) -> list[str]:
    rules = [r for r in reasons if r.rule_number is not None]
    lines = []
    for r in rules[:REASONS_SHOWN]:
        said = r.found and r.found.casefold() != r.rule.strip('"').casefold()
        found = f" — {escape(_cut(r.found, RULE_SHOWN))}" if said else ""
        lines.append(f"🔔 Rule {r.rule_number} <code>{escape(_cut(r.rule, RULE_SHOWN))}</code>"
                     f"{found}")
    if len(rules) > REASONS_SHOWN:
        lines.append(f"🔔 … and {len(rules) - REASONS_SHOWN} more rules")
    if any(r.rule_number is None for r in reasons):
        name = f"@{channel.username}" if channel.username else (channel.title or "the channel")
        lines.append(f"🔔 Subscribed to {escape(name)}")
    return lines


# ---- the post text, trimmed and bold ----

def excerpt_range(text: str, spans: Sequence[Span], budget: int) -> tuple[int, int]:
    """The ``[start, end)`` code points of ``text`` to show in ``budget`` UTF-16 units,
    room for an ellipsis at each cut included. Cuts fall on word boundaries when one is
    near; the first matched word is kept in view."""
    units = [0, *accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    if units[-1] <= budget:
        return 0, len(text)
    room = max(budget - 2, 0)
    start = 0
    if spans and units[spans[0][1]] > room * 2 // 3:
        # Open a little before the first matched word, at a word start.
        want = units[spans[0][0]] - room // 4
        start = _index_at(units, want)
        gap = text.find(" ", start, start + _SNAP)
        newline = text.find("\n", start, start + _SNAP)
        cuts = [i for i in (gap, newline) if i != -1]
        if cuts and min(cuts) < spans[0][0]:
            start = min(cuts) + 1
    end = _index_at(units, units[start] + room)
    while end > start and units[end] - units[start] > room:
        end -= 1
    if end < len(text):
        space = max(text.rfind(" ", max(start, end - _SNAP), end),
                    text.rfind("\n", max(start, end - _SNAP), end))
        if space > start:
            end = space
    return start, end


def _index_at(units: list[int], want: int) -> int:
    """The largest code-point index whose UTF-16 offset is at most ``want``."""
    lo, hi = 0, len(units) - 1
    want = max(want, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if units[mid] <= want:
            lo = mid
        else:
            hi = mid - 1
    return lo


def bold_text(text: str, spans: Sequence[Span], start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` escaped, the parts inside ``spans`` in ``<b>``."""
    end = len(text) if end is None else end
    out, pos = [], start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b or a < pos:
            continue
        out.append(escape(text[pos:a]))
        out.append(f"<b>{escape(text[a:b])}</b>")
        pos = b
    out.append(escape(text[pos:end]))
    return "".join(out)


def _fit(build: Callable[[int], str], limit: int, fixed: Sequence[str]) -> str:
    """``build(budget)`` with the budget (UTF-16 units) for the variable text: all of it
    when the message fits as it is, else what the ``fixed`` parts leave, shrinking until
    the parsed message fits."""
    whole = build(1 << 30)
    if utf16_len(whole) <= limit:
        return whole                # parsing only takes away (tags, entities): it fits
    budget = limit - _fixed(fixed) - 2
    for _ in range(6):
        html_text = build(max(budget, 0))
        over = telegram_length(html_text) - limit
        if over <= 0:
            return html_text
        budget -= over + 8
    raise AssertionError("an alert could not be made to fit")  # pragma: no cover


def _fixed(parts: Sequence[str]) -> int:
    return telegram_length("\n".join(p for p in parts if p))


# ---- messages ----

def format_alert(view: AlertView, tz: str, *, limit: int = TEXT_LIMIT - STORY_RESERVE) -> str:
    """A new post's alert."""
    post, channel = view.post, view.channel
    head = [f"📢 {channel_html(channel)}"]
    when = f"🕒 {escape(local(post.date, tz))}"
    if view.late_by is not None:
        why = " (caught up after a gap)" if view.caught_up else ""
        when += f" · ⏰ <i>late by {human_duration(view.late_by)}{why}</i>"
    head.append(when)
    if post.forward is not None:
        origin = (channel_html(view.forward_from) if view.forward_from is not None
                  else escape(post.forward.name or "a hidden account"))
        head.append(f"↪️ Forwarded from {origin}")
    tail = [escape(media_note(post.media)), f"🔗 {_link(channel, post.message_id)}",
            *reason_lines(view.reasons, channel)]

    def build(budget: int) -> str:
        body = ""
        if post.text.strip():
            start, end = excerpt_range(post.text, view.spans, budget)
            body = ((ELLIPSIS if start > 0 else "")
                    + bold_text(post.text, view.spans, start, end)
                    + (ELLIPSIS if end < len(post.text) else ""))
        return "\n".join(p for p in ["\n".join(head), body, "\n".join(t for t in tail if t)]
                         if p)

    return _fit(build, limit, ["\n".join(head), "\n".join(t for t in tail if t)])


def story_line(members: Sequence[StoryMember], tz: str, reference: datetime) -> str:
    """``🔁 Also posted by @rybar 12:05 MSK, @dva_majors 12:07 MSK``, each a link."""
    shown = []
    for m in members[:STORY_SHOWN]:
        name = f"@{m.channel.username}" if m.channel.username else \
            _cut(m.channel.title or str(m.channel.channel_id), 30)
        url = post_url(m.channel.username, m.channel.channel_id, m.message_id)
        shown.append(f'<a href="{escape(url)}">{escape(name)}</a> '
                     f"{escape(_short_time(m.date, tz, reference))}"
                     + (" (same photo)" if m.same_photo else ""))
    more = len(members) - STORY_SHOWN
    return "🔁 Also posted by " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def with_story(alert_html: str, members: Sequence[StoryMember], tz: str,
               reference: datetime, *, limit: int = TEXT_LIMIT) -> str:
    """The alert with its story line appended (what the edit of a sent alert says);
    ``limit``: CAPTION_LIMIT for an alert sent as a photo's caption."""
    shown = list(members)
    while True:
        out = f"{alert_html}\n{story_line(shown, tz, reference)}"
        if telegram_length(out) <= limit or len(shown) <= 1:
            return out
        shown.pop()


def format_edit(channel: Channel, post: Post, pieces: Sequence[Piece], old_media: Media | None,
                edited_at: datetime, tz: str, *, limit: int = TEXT_LIMIT) -> str:
    """An edit of a post that alerted: what changed, removals struck through, additions
    underlined, long unchanged stretches cut."""
    head = [f"✏️ <b>Edited</b> · {channel_html(channel)}",
            f"🕒 posted {escape(local(post.date, tz))}, edited "
            f"{escape(_short_time(edited_at, tz, post.date))}"]
    notes = []
    if (old_media.kind if old_media else None) != (post.media.kind if post.media else None):
        before = media_note(old_media) or "no media"
        after = media_note(post.media) or "no media"
        notes.append(f"Media: {escape(before)} → {escape(after)}")
    tail = [*notes, f"🔗 {_link(channel, post.message_id)}"]
    shown = with_context(list(pieces))

    def build(budget: int) -> str:
        body = _pieces_html(shown, budget)
        return "\n".join(p for p in ["\n".join(head), body, "\n".join(tail)] if p)

    return _fit(build, limit, ["\n".join(head), "\n".join(tail)])


_TAGS = {"removed": "s", "added": "u"}


def _pieces_html(pieces: Sequence[Piece], budget: int) -> str:
    out, used = [], 0
    for p in pieces:
        text = ELLIPSIS if p.op == "cut" else p.text
        n = utf16_len(text)
        if used + n > budget - 1:
            room = budget - 1 - used
            if room > 0 and p.op != "cut":
                start, end = excerpt_range(text, (), room + 2)
                text = text[start:end]
                out.append(_tagged(p.op, escape(text)) if text else "")
            out.append(ELLIPSIS)
            break
        out.append(escape(text) if p.op in ("same", "cut") else _tagged(p.op, escape(text)))
        used += n
    return "".join(out)


def _tagged(op: str, inner: str) -> str:
    tag = _TAGS.get(op)
    return f"<{tag}>{inner}</{tag}>" if tag and inner.strip() else inner


def format_delete(channel: Channel, post: Post, deleted_at: datetime, tz: str, *,
                  limit: int = TEXT_LIMIT) -> str:
    """A deletion of a post that alerted, with the text the log archived."""
    head = [f"🗑 <b>Deleted</b> · {channel_html(channel)}",
            f"🕒 posted {escape(local(post.date, tz))}, deleted "
            f"{escape(_short_time(deleted_at, tz, post.date))}"]
    tail = [escape(media_note(post.media)),
            f"🔗 {_link(channel, post.message_id)} (no longer opens)"]

    def build(budget: int) -> str:
        body = ""
        if post.text.strip():
            start, end = excerpt_range(post.text, (), budget)
            body = ("<blockquote>" + bold_text(post.text, (), start, end)
                    + (ELLIPSIS if end < len(post.text) else "") + "</blockquote>")
        return "\n".join(p for p in ["\n".join(head), body, "\n".join(t for t in tail if t)]
                         if p)

    return _fit(build, limit, ["\n".join(head), "\n".join(t for t in tail if t)])
