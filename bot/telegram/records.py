"""The one place where Telethon's types become tgmon's own records.

Everything past this module sees :class:`storage.models.Post` and
:class:`storage.models.Channel`, never a Telethon object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from telethon.tl import types

from storage.models import (
    Channel,
    Comment,
    Entity,
    FileRef,
    ForwardOrigin,
    Media,
    Poll,
    PollAnswer,
    Post,
    PostDetails,
    Reaction,
    Restriction,
    ServiceMessage,
    WebPage,
)

# Telethon entity class -> the type names Telegram Desktop exports use.
_ENTITY_TYPES: dict[type, str] = {
    types.MessageEntityMention: "mention",
    types.MessageEntityHashtag: "hashtag",
    types.MessageEntityBotCommand: "bot_command",
    types.MessageEntityUrl: "link",
    types.MessageEntityEmail: "email",
    types.MessageEntityBold: "bold",
    types.MessageEntityItalic: "italic",
    types.MessageEntityCode: "code",
    types.MessageEntityPre: "pre",
    types.MessageEntityTextUrl: "text_link",
    types.MessageEntityMentionName: "mention_name",
    types.InputMessageEntityMentionName: "mention_name",
    types.MessageEntityPhone: "phone",
    types.MessageEntityCashtag: "cashtag",
    types.MessageEntityUnderline: "underline",
    types.MessageEntityStrike: "strikethrough",
    types.MessageEntityBlockquote: "blockquote",
    types.MessageEntityBankCard: "bank_card",
    types.MessageEntitySpoiler: "spoiler",
    types.MessageEntityCustomEmoji: "custom_emoji",
}


def is_post(message: Any) -> bool:
    """A real post (not a service message such as "channel created", not empty)."""
    return isinstance(message, types.Message)


def is_message(message: Any) -> bool:
    """A post or a service message (not ``messageEmpty``, a placeholder for a gone id)."""
    return isinstance(message, types.Message | types.MessageService)


def channel_id_of(message: Any) -> int | None:
    peer = getattr(message, "peer_id", None)
    return peer.channel_id if isinstance(peer, types.PeerChannel) else None


@dataclass(frozen=True)
class ChannelAccess:
    """A channel entity as the watcher keeps it: the record, the watching account's
    access hash, and whether the account is a member (members get pushes)."""

    channel: Channel
    access_hash: int
    member: bool
    broadcast: bool


def channel_access(entity: Any) -> ChannelAccess | None:
    """A resolved chat as :class:`ChannelAccess`; None if it is not a channel the
    account can read (a person, a bot, a basic group, a forbidden channel)."""
    if not isinstance(entity, types.Channel) or entity.access_hash is None:
        return None
    return ChannelAccess(channel_from_entity(entity), entity.access_hash,
                         member=not entity.left, broadcast=bool(entity.broadcast))


def is_channel_entity(entity: Any) -> bool:
    return isinstance(entity, types.Channel | types.ChannelForbidden)


def channel_from_entity(entity: Any) -> Channel:
    """A Telethon ``Channel`` (or ``ChannelForbidden``) as tgmon's :class:`Channel`."""
    username = getattr(entity, "username", None)
    if not username:
        for u in getattr(entity, "usernames", None) or ():
            if getattr(u, "active", False):
                username = u.username
                break
    return Channel(entity.id, username or None, getattr(entity, "title", None))


def entity_from_tl(e: Any) -> Entity:
    user_id = getattr(e, "user_id", None)
    if not isinstance(user_id, int):  # InputMessageEntityMentionName carries an InputUser
        user_id = getattr(user_id, "user_id", None)
    document_id = getattr(e, "document_id", None)
    return Entity(
        type=_ENTITY_TYPES.get(type(e), "unknown"),
        offset=e.offset, length=e.length,
        url=getattr(e, "url", None) or None,
        user_id=user_id,
        language=getattr(e, "language", None) or None,
        document_id=str(document_id) if document_id is not None else None,
    )


def _reaction(rc: Any) -> Reaction | None:
    r = rc.reaction
    if isinstance(r, types.ReactionEmoji):
        return Reaction(r.emoticon, rc.count)
    if isinstance(r, types.ReactionCustomEmoji):
        return Reaction(f"custom:{r.document_id}", rc.count)
    if isinstance(r, types.ReactionPaid):
        return Reaction("paid", rc.count)
    return None


def _photo_size(photo: Any) -> tuple[int | None, int | None, int | None, str]:
    """Bytes, width, height and type letter of the largest size of a photo (by pixel
    area, then bytes): the one to download."""
    best: tuple[int | None, int | None, int | None, str] = (None, None, None, "")
    rank = (-1, -1)
    for size in getattr(photo, "sizes", None) or ():
        if isinstance(size, types.PhotoSize):
            nbytes = size.size
        elif isinstance(size, types.PhotoSizeProgressive):
            nbytes = max(size.sizes) if size.sizes else None
        else:
            continue                    # stripped and cached previews are not files
        mine = (size.w * size.h, nbytes or 0)
        if mine > rank:
            rank, best = mine, (nbytes, size.w, size.h, size.type)
    return best


def _photo_file(photo: Any, thumb: str) -> FileRef | None:
    if not isinstance(photo, types.Photo) or not thumb:
        return None
    return FileRef("photo", photo.id, photo.access_hash, bytes(photo.file_reference),
                   photo.dc_id, thumb)


def _document_file(doc: Any) -> FileRef | None:
    if not isinstance(doc, types.Document):
        return None
    return FileRef("document", doc.id, doc.access_hash, bytes(doc.file_reference), doc.dc_id)


def media_from_tl(media: Any) -> Media | None:
    if media is None:
        return None
    if isinstance(media, types.MessageMediaPhoto):
        size, w, h, thumb = _photo_size(media.photo)
        return Media("photo", size=size, width=w, height=h,
                     file=_photo_file(media.photo, thumb))
    if isinstance(media, types.MessageMediaDocument):
        return _document_media(media.document)
    kinds = {
        types.MessageMediaWebPage: "webpage",
        types.MessageMediaPoll: "poll",
        types.MessageMediaGeo: "location",
        types.MessageMediaGeoLive: "location",
        types.MessageMediaVenue: "location",
        types.MessageMediaContact: "contact",
    }
    return Media(kinds.get(type(media), "other"))


def _document_media(doc: Any) -> Media:
    if not isinstance(doc, types.Document):
        return Media("document")
    kind, name, width, height, duration = "document", None, None, None, None
    for attr in doc.attributes:
        if isinstance(attr, types.DocumentAttributeFilename):
            name = attr.file_name
        elif isinstance(attr, types.DocumentAttributeVideo):
            kind = "video_message" if attr.round_message else "video"
            width, height, duration = attr.w, attr.h, float(attr.duration)
        elif isinstance(attr, types.DocumentAttributeAudio):
            kind = "voice" if attr.voice else "audio"
            duration = float(attr.duration)
        elif isinstance(attr, types.DocumentAttributeImageSize):
            width, height = attr.w, attr.h
    # Animated and sticker attributes win over the video attribute GIFs also carry.
    for attr in doc.attributes:
        if isinstance(attr, types.DocumentAttributeAnimated):
            kind = "animation"
        elif isinstance(attr, types.DocumentAttributeSticker):
            kind = "sticker"
    return Media(kind, file_name=name, size=doc.size, mime_type=doc.mime_type or None,
                 width=width, height=height, duration=duration, file=_document_file(doc))


def forward_from_tl(fwd: Any) -> ForwardOrigin | None:
    if fwd is None:
        return None
    channel_id = fwd.from_id.channel_id if isinstance(fwd.from_id, types.PeerChannel) else None
    return ForwardOrigin(
        channel_id=channel_id,
        message_id=fwd.channel_post,
        date=fwd.date,
        name=fwd.from_name or fwd.post_author or None,
    )


def _text(value: Any) -> str:
    """A poll's question or answer: ``TextWithEntities`` in recent layers, ``str`` before."""
    return value if isinstance(value, str) else getattr(value, "text", "") or ""


def poll_from_tl(media: Any) -> Poll:
    poll, results = media.poll, media.results
    voters = {r.option: r.voters for r in (getattr(results, "results", None) or ())}
    return Poll(
        question=_text(poll.question),
        answers=tuple(PollAnswer(_text(a.text), voters.get(a.option)) for a in poll.answers),
        total_voters=getattr(results, "total_voters", None),
        closed=bool(poll.closed), quiz=bool(poll.quiz))


def _geo(point: Any) -> dict[str, object] | None:
    if not isinstance(point, types.GeoPoint):
        return None
    return {"lat": point.lat, "long": point.long}


def _peer_id(peer: Any) -> int | None:
    for attr in ("user_id", "channel_id", "chat_id"):
        value = getattr(peer, attr, None)
        if isinstance(value, int):
            return value
    return None


def _sender_name(message: Any) -> str | None:
    sender = getattr(message, "sender", None)     # Telethon fills it from the answer
    if sender is None:
        return None
    if isinstance(sender, types.User):
        return " ".join(n for n in (sender.first_name, sender.last_name) if n) or None
    return getattr(sender, "title", None)


def details_from_message(message: Any) -> PostDetails:
    """What else a message says: restrictions, no-forwards, pinned, link preview, poll,
    place, contact, dice, forum topic, bot, and its sender in a group."""
    media = message.media
    webpage = poll = geo = contact = dice = None
    if isinstance(media, types.MessageMediaWebPage) and isinstance(media.webpage,
                                                                  types.WebPage):
        w = media.webpage
        webpage = WebPage(w.url, w.site_name, w.title, w.description)
    elif isinstance(media, types.MessageMediaPoll):
        poll = poll_from_tl(media)
    elif isinstance(media, types.MessageMediaVenue):
        geo = {**(_geo(media.geo) or {}), "title": media.title, "address": media.address}
    elif isinstance(media, types.MessageMediaGeo | types.MessageMediaGeoLive):
        geo = _geo(media.geo)
    elif isinstance(media, types.MessageMediaContact):
        contact = {"phone": media.phone_number, "first_name": media.first_name,
                   "last_name": media.last_name, "user_id": media.user_id or None}
    elif isinstance(media, types.MessageMediaDice):
        dice = {"emoticon": media.emoticon, "value": media.value}
    reply_to = message.reply_to
    topic = None
    if isinstance(reply_to, types.MessageReplyHeader) and reply_to.forum_topic:
        topic = reply_to.reply_to_top_id or reply_to.reply_to_msg_id
    channel_id = channel_id_of(message)
    sender_id = _peer_id(message.from_id)
    if sender_id == channel_id:
        sender_id = None                 # the channel itself: nothing to add
    return PostDetails(
        restrictions=tuple(Restriction(r.platform, r.reason, r.text)
                           for r in message.restriction_reason or ()),
        noforwards=bool(message.noforwards), pinned=bool(message.pinned),
        webpage=webpage, poll=poll, geo=geo, contact=contact, dice=dice, topic_id=topic,
        via_bot_id=message.via_bot_id, sender_id=sender_id,
        sender_name=_sender_name(message) if sender_id is not None else None,
        comments_max_id=getattr(message.replies, "max_id", None)
        if getattr(message.replies, "comments", False) else None)


def is_service(message: Any) -> bool:
    return isinstance(message, types.MessageService)


def _action_name(action: Any) -> str:
    """``MessageActionChatEditTitle`` -> ``edit_title``, ``MessageActionPinMessage`` ->
    ``pin_message``: the TL name, snake-cased, without ``Chat``."""
    name = type(action).__name__.removeprefix("MessageAction").removeprefix("Chat")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service_from_message(message: Any) -> ServiceMessage:
    """A channel's ``MessageService`` as a :class:`ServiceMessage`."""
    action = message.action
    detail: dict[str, object] = {}
    if isinstance(action, types.MessageActionChatEditTitle | types.MessageActionChannelCreate):
        detail["title"] = action.title
    elif isinstance(action, types.MessageActionChatEditPhoto):
        detail["photo_id"] = getattr(action.photo, "id", None)
    elif isinstance(action, types.MessageActionPinMessage):
        detail["message_id"] = getattr(message.reply_to, "reply_to_msg_id", None)
    return ServiceMessage(channel_id_of(message) or 0, message.id, message.date,
                          _action_name(action), detail)


def post_from_message(message: Any) -> Post:
    """A channel ``types.Message`` as a :class:`Post`. Call :func:`is_post` first."""
    channel_id = channel_id_of(message)
    if channel_id is None:
        raise ValueError(f"message {message.id} is not a channel message")
    replies = message.replies.replies if message.replies is not None else None
    reactions: tuple[Reaction, ...] = ()
    if message.reactions is not None:
        reactions = tuple(r for r in map(_reaction, message.reactions.results) if r)
    reply_to = message.reply_to
    return Post(
        channel_id=channel_id,
        message_id=message.id,
        date=message.date,
        text=message.message or "",
        entities=tuple(entity_from_tl(e) for e in message.entities or ()),
        views=message.views,
        forwards=message.forwards,
        replies=replies,
        reactions=reactions,
        media=media_from_tl(message.media),
        forward=forward_from_tl(message.fwd_from),
        reply_to_id=getattr(reply_to, "reply_to_msg_id", None),
        grouped_id=message.grouped_id,
        author=message.post_author,
        edit_date=message.edit_date,
        details=details_from_message(message),
    )


def person_name(user: Any) -> tuple[str | None, str | None]:
    """A sender's display name and username (a person, or a chat writing as itself)."""
    if isinstance(user, types.User):
        name = " ".join(n for n in (user.first_name, user.last_name) if n) or None
        return name, user.username or None
    if user is not None:
        return getattr(user, "title", None), getattr(user, "username", None) or None
    return None, None


def comment_from_message(message: Any, channel_id: int, post_id: int,
                         senders: dict[int, Any] | None = None) -> Comment:
    """A discussion group's message in a post's thread as a :class:`Comment`.
    ``senders``: the users and chats of the answer, by id (names and usernames)."""
    group_id = channel_id_of(message)
    if group_id is None:
        raise ValueError(f"message {message.id} is not a group message")
    from_id = _peer_id(message.from_id)
    name, username = person_name((senders or {}).get(from_id)) if from_id else (None, None)
    reply_to = message.reply_to
    answers = None
    if isinstance(reply_to, types.MessageReplyHeader) and reply_to.reply_to_top_id:
        answers = reply_to.reply_to_msg_id    # another comment; else the post's copy
    return Comment(
        group_id=group_id, comment_id=message.id, channel_id=channel_id, post_id=post_id,
        date=message.date, text=message.message or "",
        entities=tuple(entity_from_tl(e) for e in message.entities or ()),
        from_id=from_id, from_name=name, from_username=username, reply_to=answers,
        media=media_from_tl(message.media), edit_date=message.edit_date)
