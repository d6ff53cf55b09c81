"""The simulated state as TL objects, as one account sees it.

Access hashes differ per viewing account, as on Telegram: a hash the user client got
is refused when the bot client uses it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from telethon.tl import types

from bot.sim.files import SimFile
from bot.sim.model import (
    Account,
    Channel,
    ChannelPost,
    EntitySpec,
    ForwardSpec,
    Group,
    MediaSpec,
    Person,
)
from bot.sim.tl import make_entity
from storage.models import Poll

DC_ID = 2


def access_hash(viewer_id: int, peer_id: int) -> int:
    """A stable, non-zero, signed 64-bit hash of ``peer_id`` for ``viewer_id``."""
    digest = hashlib.blake2b(f"{viewer_id}:{peer_id}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little", signed=True)
    return value or 1


def entities(specs: tuple[EntitySpec, ...]) -> list[types.TypeMessageEntity] | None:
    return [make_entity(e.type, e.offset, e.length, e.url) for e in specs] or None


def channel(ch: Channel, viewer: Account) -> types.TypeChat:
    h = access_hash(viewer.id, ch.id)
    if viewer.id in ch.banned:
        return types.ChannelForbidden(id=ch.id, access_hash=h, title=ch.title, broadcast=True)
    return types.Channel(id=ch.id, title=ch.title, photo=types.ChatPhotoEmpty(),
                         date=ch.created, access_hash=h, username=ch.username,
                         broadcast=not ch.megagroup, megagroup=ch.megagroup,
                         left=viewer.id not in ch.members)


def group(g: Group) -> types.Chat:
    return types.Chat(id=g.id, title=g.title, photo=types.ChatPhotoEmpty(),
                      participants_count=len(g.members) + 1, date=g.created, version=1)


def person(p: Person, viewer: Account) -> types.User:
    return types.User(id=p.id, access_hash=access_hash(viewer.id, p.id),
                      first_name=p.first_name, last_name=p.last_name, username=p.username)


def account(acc: Account, viewer: Account) -> types.User:
    """An account as itself (``is_self``) or as another account sees it."""
    me = acc.id == viewer.id
    return types.User(id=acc.id, is_self=me or None, access_hash=access_hash(viewer.id, acc.id),
                      first_name=acc.first_name, username=acc.username,
                      phone=acc.phone if me else None, bot=acc.bot or None,
                      bot_info_version=1 if acc.bot else None)


def post(ch: Channel, p: ChannelPost, now: float) -> types.Message | types.MessageService:
    """A channel post as members read it at ``now`` (Unix time: when its file
    reference is issued)."""
    if p.service is not None:
        return service(ch, p)
    views, forwards = p.views, p.forwards
    if (views is None) != (forwards is None):     # one TL flag covers both counters
        views, forwards = views or 0, forwards or 0
    replies = None
    if ch.discussion is not None:
        replies = types.MessageReplies(replies=p.comments, replies_pts=ch.pts, comments=True,
                                       channel_id=ch.discussion, max_id=p.comments_max or None)
    reply_to = None
    if p.reply_to:
        reply_to = types.MessageReplyHeader(reply_to_msg_id=p.reply_to,
                                            reply_to_top_id=p.reply_top)
    return types.Message(
        id=p.id, peer_id=types.PeerChannel(ch.id), date=p.date, message=p.text,
        post=not ch.megagroup, out=False, entities=entities(p.entities), views=views,
        forwards=forwards, media=_media_of(ch, p, now),
        fwd_from=forward(p.fwd) if p.fwd else None, replies=replies,
        from_id=types.PeerUser(p.from_id) if p.from_id is not None else None,
        reply_to=reply_to,
        grouped_id=p.grouped_id, post_author=p.author, edit_date=p.edit_date,
        reactions=reactions(p.reactions) if p.reactions else None,
        restriction_reason=[types.RestrictionReason(r.platform, r.reason, r.text)
                            for r in p.restrictions] or None,
        noforwards=p.noforwards or None, pinned=p.pinned or None)


def _media_of(ch: Channel, p: ChannelPost, now: float) -> types.TypeMessageMedia | None:
    if p.media and p.file is not None:
        return media(p.media, p.date, p.file, now)
    if p.poll:
        return poll(p.poll, seed=ch.id * 1_000_003 + p.id)
    if p.webpage:
        w = p.webpage
        return types.MessageMediaWebPage(types.WebPage(
            id=ch.id * 1_000_003 + p.id, url=w.url or "", display_url=w.url or "", hash=0,
            site_name=w.site, title=w.title, description=w.description))
    return None


def poll(spec: Poll, *, seed: int) -> types.MessageMediaPoll:
    """A poll as Telegram sends it: texts with entities, results when votes are known."""
    answers = [types.PollAnswer(types.TextWithEntities(a.text, []), bytes([i]))
               for i, a in enumerate(spec.answers)]
    counted = [a for a in spec.answers if a.voters is not None]
    results = types.PollResults(
        results=[types.PollAnswerVoters(bytes([i]), voters=a.voters, recent_voters=[])
                 for i, a in enumerate(spec.answers) if a.voters is not None] or None,
        total_voters=spec.total_voters if spec.total_voters is not None
        else (sum(a.voters or 0 for a in counted) if counted else None))
    return types.MessageMediaPoll(
        poll=types.Poll(id=seed, question=types.TextWithEntities(spec.question, []),
                        answers=answers, hash=0, closed=spec.closed or None,
                        quiz=spec.quiz or None),
        results=results)


def service(ch: Channel, p: ChannelPost) -> types.MessageService:
    d = p.service_detail
    action: Any
    if p.service == "edit_title":
        action = types.MessageActionChatEditTitle(title=d.get("title", ""))
    elif p.service == "edit_photo":
        action = types.MessageActionChatEditPhoto(photo=types.PhotoEmpty(id=d.get("photo_id", 1)))
    elif p.service == "pin_message":
        action = types.MessageActionPinMessage()
    elif p.service == "channel_create":
        action = types.MessageActionChannelCreate(title=d.get("title", ch.title))
    else:
        raise ValueError(f"the simulation has no service message {p.service!r}")
    reply_to = types.MessageReplyHeader(reply_to_msg_id=d["message_id"]) \
        if p.service == "pin_message" else None
    return types.MessageService(id=p.id, peer_id=types.PeerChannel(ch.id), date=p.date,
                                action=action, post=True, out=False, reply_to=reply_to)


def reactions(counts: dict[str, int]) -> types.MessageReactions:
    return types.MessageReactions(results=[
        types.ReactionCount(reaction=types.ReactionEmoji(emoji), count=n)
        for emoji, n in counts.items()])


def forward(f: ForwardSpec) -> types.MessageFwdHeader:
    if f.channel_id is not None:
        return types.MessageFwdHeader(date=f.date, from_id=types.PeerChannel(f.channel_id),
                                      channel_post=f.message_id, post_author=f.author)
    return types.MessageFwdHeader(date=f.date, from_name=f.name)


_MIME = {"photo": "image/jpeg", "video": "video/mp4", "animation": "video/mp4",
         "document": "application/octet-stream", "audio": "audio/mpeg", "voice": "audio/ogg"}


def media(spec: MediaSpec, date: datetime, file: SimFile,
          now: float) -> types.TypeMessageMedia:
    """A photo or a document with the attributes Telegram gives that kind of media, and
    a file reference issued ``now``."""
    ref = file.reference(now)
    if spec.kind == "photo":
        w, h = spec.width or 1280, spec.height or 720
        return types.MessageMediaPhoto(photo=types.Photo(
            id=file.id, access_hash=file.access_hash, file_reference=ref, date=date,
            sizes=[types.PhotoStrippedSize(type="i", bytes=b"\x01\x28\x1e"),
                   types.PhotoSize(type="y", w=w, h=h, size=file.size)],
            dc_id=DC_ID))
    attributes: list[types.TypeDocumentAttribute] = []
    if spec.kind in ("video", "animation"):
        attributes.append(types.DocumentAttributeVideo(
            duration=spec.duration or 0.0, w=spec.width or 1280, h=spec.height or 720,
            supports_streaming=True))
        if spec.kind == "animation":
            attributes.append(types.DocumentAttributeAnimated())
    elif spec.kind in ("audio", "voice"):
        attributes.append(types.DocumentAttributeAudio(
            duration=int(spec.duration or 0), voice=spec.kind == "voice" or None))
    if spec.file_name:
        attributes.append(types.DocumentAttributeFilename(spec.file_name))
    document = types.Document(
        id=file.id, access_hash=file.access_hash, file_reference=ref, date=date,
        mime_type=spec.mime_type or _MIME[spec.kind], size=file.size, dc_id=DC_ID,
        attributes=attributes)
    return types.MessageMediaDocument(document=document,
                                      video=spec.kind == "video" or None,
                                      voice=spec.kind == "voice" or None)


def dialog(ch: Channel) -> types.Dialog:
    top = max(ch.posts, default=0)
    return types.Dialog(peer=types.PeerChannel(ch.id), top_message=top,
                        read_inbox_max_id=top, read_outbox_max_id=0, unread_count=0,
                        unread_mentions_count=0, unread_reactions_count=0,
                        unread_poll_votes_count=0, notify_settings=types.PeerNotifySettings(),
                        pts=ch.pts)


def state(acc: Account, now: datetime) -> types.updates.State:
    return types.updates.State(pts=acc.pts, qts=0, date=now, seq=0, unread_count=0)
