"""Telethon messages (real TL objects, round-tripped through TL bytes) become Posts."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon.extensions import BinaryReader
from telethon.tl import types

from bot.telegram.records import channel_from_entity, is_post, post_from_message
from storage.models import Entity, ForwardOrigin, Media, Reaction

T = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
CID = 1_234_567


def wire(obj):
    """What a client would decode from Telegram's bytes."""
    return BinaryReader(bytes(obj)).tgread_object()


def message(**kw):
    base = dict(id=7, peer_id=types.PeerChannel(CID), date=T, message="", post=True)
    base.update(kw)
    return wire(types.Message(**base))


def test_text_entities_counters_and_reply():
    m = message(
        message="Легион вошёл в Тёткино #Курск",
        entities=[types.MessageEntityBold(0, 6), types.MessageEntityHashtag(23, 6),
                  types.MessageEntityTextUrl(7, 5, url="https://t.me/legionoffreedom")],
        views=1200, forwards=33, replies=types.MessageReplies(replies=5, replies_pts=1),
        reactions=types.MessageReactions(results=[
            types.ReactionCount(reaction=types.ReactionEmoji("🔥"), count=40),
            types.ReactionCount(reaction=types.ReactionCustomEmoji(99), count=2)]),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=3),
        grouped_id=555, post_author="Пресс-служба", edit_date=T)
    p = post_from_message(m)
    assert (p.channel_id, p.message_id, p.date) == (CID, 7, T)
    assert p.text == "Легион вошёл в Тёткино #Курск"
    assert p.entities == (Entity("bold", 0, 6), Entity("hashtag", 23, 6),
                          Entity("text_link", 7, 5, url="https://t.me/legionoffreedom"))
    assert (p.views, p.forwards, p.replies) == (1200, 33, 5)
    assert p.reactions == (Reaction("🔥", 40), Reaction("custom:99", 2))
    assert (p.reply_to_id, p.grouped_id, p.author, p.edit_date) == (3, 555, "Пресс-служба", T)


def test_forward_from_channel_and_hidden_origin():
    fwd = types.MessageFwdHeader(date=T, from_id=types.PeerChannel(42), channel_post=9)
    assert post_from_message(message(fwd_from=fwd)).forward == ForwardOrigin(42, 9, T, None)
    hidden = types.MessageFwdHeader(date=T, from_name="Аноним")
    assert post_from_message(message(fwd_from=hidden)).forward == \
        ForwardOrigin(None, None, T, "Аноним")


def test_photo_takes_the_largest_size():
    photo = types.Photo(id=1, access_hash=2, file_reference=b"", date=T, dc_id=2, sizes=[
        types.PhotoSize("m", 320, 240, 10_000),
        types.PhotoSizeProgressive("y", 1280, 960, [5_000, 60_000, 120_000])])
    p = post_from_message(message(media=types.MessageMediaPhoto(photo=photo)))
    assert p.media == Media("photo", size=120_000, width=1280, height=960)


def test_documents_are_classed_by_their_attributes_animation_and_sticker_first():
    def doc(*attrs, mime="video/mp4"):
        d = types.Document(id=1, access_hash=2, file_reference=b"", date=T, mime_type=mime,
                           size=2048, dc_id=2, attributes=list(attrs))
        return post_from_message(message(media=types.MessageMediaDocument(document=d))).media

    video = doc(types.DocumentAttributeVideo(duration=12.5, w=640, h=360),
                types.DocumentAttributeFilename("raid.mp4"))
    assert video == Media("video", "raid.mp4", 2048, "video/mp4", 640, 360, 12.5)
    assert doc(types.DocumentAttributeVideo(duration=3, w=240, h=240,
                                            round_message=True)).kind == "video_message"
    assert doc(types.DocumentAttributeAudio(duration=4, voice=True),
               mime="audio/ogg").kind == "voice"
    assert doc(types.DocumentAttributeVideo(duration=1, w=1, h=1),
               types.DocumentAttributeAnimated()).kind == "animation"
    assert doc(types.DocumentAttributeFilename("report.pdf"),
               mime="application/pdf") == Media("document", "report.pdf", 2048,
                                                "application/pdf")


def test_service_and_empty_messages_are_not_posts():
    service = wire(types.MessageService(id=1, peer_id=types.PeerChannel(CID), date=T,
                                        action=types.MessageActionChannelCreate("x")))
    assert not is_post(service)
    assert not is_post(types.MessageEmpty(id=2, peer_id=None))
    assert is_post(message())


def test_channel_entity_username_from_usernames_list():
    ch = wire(types.Channel(id=CID, title="Легион", photo=types.ChatPhotoEmpty(), date=T,
                            broadcast=True, usernames=[
                                types.Username("old_handle"),
                                types.Username("legionoffreedom", active=True)]))
    c = channel_from_entity(ch)
    assert (c.channel_id, c.username, c.title) == (CID, "legionoffreedom", "Легион")
