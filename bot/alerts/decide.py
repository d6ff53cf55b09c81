"""Who a batch of the log's changes alerts, and with what: one pure function,
:func:`decide`, from what the dispatcher loaded (:class:`Loaded`) and the time to the
alert records (with their outbox messages) to store. No ``await``, no clock, no
database: the dispatcher (:mod:`bot.alerts.dispatcher`) loads, calls it, records.

- A new post alerts each chat of its audience once (rules that matched, and the
  subscription); it is held while the chat is muted, and nothing goes to a chat that
  blocked the bot.
- A post telling a story the chat was already alerted of (a repost, an album's photo,
  a forward, the same photo) is folded into that first alert, whose message is edited
  to name it.
- An alert of a photo post goes with the photo, the alert as its caption (within
  Telegram's 1024 units); the sender falls back to the text when the file is not there.
- Edits and deletions alert the chats with /edits on that were sent the post.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts import plan
from bot.alerts.diff import word_diff
from bot.alerts.format import (
    CAPTION_STORY_RESERVE,
    AlertView,
    StoryMember,
    format_alert,
    format_delete,
    format_edit,
    with_story,
)
from bot.alerts.plan import Alerted, Audience
from bot.delivery.fit import CAPTION_LIMIT
from bot.media.phash import same_photo
from storage.alerts import AlertRecord, LogChange
from storage.chats import Chat
from storage.media import PostMedia
from storage.models import CapturePath, Channel, StoredPost
from storage.outbox import OutMessage

# A photo that may still come (or has come) goes with its alert.
_PHOTO_STATUSES = ("pending", "done")

PLANNED = 1 << 62           # order of alerts decided in this batch: after every recorded one

Key = tuple[int, int]       # (chat id, post id)


@dataclass(frozen=True)
class Found:
    """A new post and the chats it alerts."""

    change: LogChange
    stored: StoredPost
    audience: list[Audience]
    related: dict[int, str]             # other posts of its story: post id -> how


@dataclass(frozen=True)
class Loaded:
    """What one batch of changes needs decided."""

    found: Sequence[Found]                      # new posts that alert someone, in order
    follows: Sequence[LogChange]                # edits and deletions, in order
    posts: Mapping[tuple[int, int], StoredPost]  # (post id, version) -> the post then
    # the new-post alerts chats already have of the posts concerned (and of their
    # stories' first posts): by (chat, post), with their ids and their messages' ids
    alerted: Mapping[Key, Alerted]
    alert_id: Mapping[Key, int]
    outbox_of: Mapping[Key, int]
    chats: Mapping[int, Chat]
    origins: Mapping[int, Channel]              # channels forwarded from, by id
    # of the stories' first alerts that may be edited: the posts folded into each so
    # far (by alert id), and its message (by outbox id)
    story_members: Mapping[int, Sequence[tuple[Channel, int, datetime]]]
    story_html: Mapping[int, str]
    default_tz: str                             # for chats without a time zone
    # the media archive: the current media item of the new posts (by post id), the
    # caption form of the stories' first alerts (by outbox id), and the perceptual
    # hashes of those first posts' photos (by post id) and of the posts folded into
    # them (by channel and message id), to say which show the same photo
    photos: Mapping[int, PostMedia] = field(default_factory=dict)
    story_captions: Mapping[int, str] = field(default_factory=dict)
    root_photos: Mapping[int, str] = field(default_factory=dict)
    member_photos: Mapping[tuple[int, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fold:
    """A folded alert whose record (at ``index``) may edit its story's first alert."""

    index: int
    record: AlertRecord
    root: Alerted
    stored: StoredPost


def decide(batch: Loaded, now: datetime) -> list[AlertRecord]:
    """The alert records of a batch: new-post alerts (folded ones editing their
    story's first alert), then edit and deletion alerts."""
    alerted = dict(batch.alerted)           # alerts decided here join those recorded
    records, folds, planned = _new_posts(batch, alerted, now)
    if folds:
        records = _story_edits(batch, records, folds, planned)
    return records + _follow_ups(batch, alerted, now)


def _tz(batch: Loaded, chat: Chat) -> str:
    return chat.timezone or batch.default_tz


def _new_posts(batch: Loaded, alerted: dict[Key, Alerted], now: datetime
               ) -> tuple[list[AlertRecord], list[_Fold], dict[Key, OutMessage]]:
    """The new-post alerts: one per chat and post, held for muted chats, folded into
    the chat's first alert of the same story; none for chats that blocked the bot."""
    records: list[AlertRecord] = []
    folds: list[_Fold] = []
    planned: dict[Key, OutMessage] = {}
    for f in batch.found:
        c, post = f.change, f.stored.post
        late = plan.lateness(c.captured_via, post.date, now)
        album_member = bool(f.related) and all(h == "album" for h in f.related.values())
        origin = batch.origins.get(post.forward.channel_id or 0) if post.forward else None
        photo = batch.photos.get(c.post_id)
        if photo is not None and (photo.kind != "photo" or
                                  photo.status not in _PHOTO_STATUSES):
            photo = None
        rendered: dict[tuple[object, ...], tuple[str, str | None]] = {}   # chats alike
        for a in f.audience:
            chat = batch.chats.get(a.chat_id)
            if chat is None or chat.blocked_at is not None:
                continue
            key = (a.chat_id, c.post_id)
            root = plan.story_root(a.chat_id, f.related, alerted)
            base = AlertRecord(a.chat_id, c.post_id, "new", c.version, c.seq, "queued",
                               a.describe(), a.rule_ids, a.subscribed)
            if root is not None:
                record = dataclasses.replace(base, status="folded", story_root=root.key)
                if not album_member:         # an album's photos fold silently
                    folds.append(_Fold(len(records), record, root, f.stored))
                records.append(record)
                alerted[key] = Alerted(*key, "folded", PLANNED + len(records), root.key)
                continue
            status, message = "held" if chat.muted(now) else "queued", None
            if status == "queued":
                tz = _tz(batch, chat)
                forms = rendered.get((tz, a.reasons, a.spans))
                if forms is None:
                    view = AlertView(post, f.stored.channel, a.reasons, a.spans, origin,
                                     late, c.captured_via == CapturePath.CATCH_UP)
                    caption = format_alert(view, tz, limit=CAPTION_LIMIT
                                           - CAPTION_STORY_RESERVE) if photo else None
                    forms = rendered[(tz, a.reasons, a.spans)] = (format_alert(view, tz),
                                                                  caption)
                message = OutMessage(
                    a.chat_id, "alert", forms[0],
                    dedup_key=f"alert:{a.chat_id}:{post.channel_id}:{post.message_id}",
                    media_item=photo.item_id if photo else None, caption_html=forms[1])
                planned[key] = message
            records.append(dataclasses.replace(base, status=status, message=message))
            alerted[key] = Alerted(*key, status, PLANNED + len(records))
    return records, folds, planned


def _story_edits(batch: Loaded, records: list[AlertRecord], folds: list[_Fold],
                 planned: dict[Key, OutMessage]) -> list[AlertRecord]:
    """A folded post's record edits its story's first alert to name it (when that
    alert was sent or is queued): the first alert's text plus "Also posted by", and
    its caption form likewise when it went with its photo."""
    roots = {f.root.key for f in folds if f.root.status == "queued"}

    def root_photo(post_id: int) -> str | None:
        new = batch.photos.get(post_id)
        return batch.root_photos.get(post_id) or (new.phash if new else None)

    so_far = {k: [StoryMember(ch, mid, date, same_photo(
                  root_photo(k[1]), batch.member_photos.get((ch.channel_id, mid))))
                  for ch, mid, date in batch.story_members.get(i, [])]
              for k, i in batch.alert_id.items() if k in roots}
    out = list(records)
    for f in folds:
        first = planned.get(f.root.key)
        outbox_id = batch.outbox_of.get(f.root.key, 0)
        base = first.html if first else batch.story_html.get(outbox_id)
        base_caption = first.caption_html if first else batch.story_captions.get(outbox_id)
        if f.root.status != "queued" or base is None:
            continue
        line = so_far.setdefault(f.root.key, [])
        post = f.stored.post
        mine = batch.photos.get(f.record.post_id)
        line.append(StoryMember(f.stored.channel, post.message_id, post.date, same_photo(
            root_photo(f.root.key[1]), mine.phash if mine else None)))
        tz = _tz(batch, batch.chats[f.record.chat_id])
        html = with_story(base, line, tz, post.date)
        caption = with_story(base_caption, line, tz, post.date, limit=CAPTION_LIMIT) \
            if base_caption else None
        message = OutMessage(
            f.record.chat_id, "alert", html,
            dedup_key=f"story:{f.record.chat_id}:{post.channel_id}:{post.message_id}",
            caption_html=caption)
        out[f.index] = dataclasses.replace(f.record, message=message, target=f.root.key,
                                           edits_target=True)
    return out


def _follow_ups(batch: Loaded, alerted: Mapping[Key, Alerted],
                now: datetime) -> list[AlertRecord]:
    """Edit and deletion alerts, for chats with /edits on that were sent the post."""
    by_post: dict[int, list[Alerted]] = defaultdict(list)
    for a in alerted.values():
        if a.status == "queued":
            by_post[a.post_id].append(a)
    out = []
    for c in batch.follows:
        current = batch.posts.get((c.post_id, c.version))
        if current is None or not by_post.get(c.post_id):
            continue
        previous = batch.posts.get((c.post_id, c.version - 1))
        if c.kind == "edit" and (previous is None or not plan.edit_alerts(
                previous.post.text, previous.post.media, current.post.text,
                current.post.media)):
            continue
        post, channel = current.post, current.channel
        for a in sorted(by_post[c.post_id], key=lambda a: a.chat_id):
            chat = batch.chats.get(a.chat_id)
            if chat is None or not chat.edit_alerts or chat.blocked_at is not None:
                continue
            held = chat.muted(now)
            message = None
            if not held:
                tz = _tz(batch, chat)
                if c.kind == "edit":
                    assert previous is not None
                    html = format_edit(channel, post, word_diff(previous.post.text, post.text),
                                       previous.post.media, c.at, tz)
                    key = f"edit:{a.chat_id}:{post.channel_id}:{post.message_id}:{c.version}"
                else:
                    html = format_delete(channel, post, c.at, tz)
                    key = f"delete:{a.chat_id}:{post.channel_id}:{post.message_id}"
                message = OutMessage(a.chat_id, "alert", html, dedup_key=key)
            out.append(AlertRecord(
                a.chat_id, c.post_id, c.kind, c.version, c.seq,
                "held" if held else "queued",
                "edited" if c.kind == "edit" else "deleted",
                message=message, target=a.key))
    return out
