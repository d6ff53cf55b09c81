"""The one place where Telethon's types become tgmon's own records.

Everything past this module sees :class:`storage.models.Post` and
:class:`storage.models.Channel`, never a Telethon object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telethon.tl import types

from storage.models import Channel, Entity, FileRef, ForwardOrigin, Media, Post, Reaction

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
    )
