"""Parsing Telegram Desktop export messages into posts: pure functions, no files."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from storage.imports.desktop import (
    ChatHeader,
    ExportFormatError,
    MessageError,
    NeedsTimeZoneError,
    NotAChannelError,
    Skipped,
    bare_channel_id,
    channel_of,
    chat_header,
    parse_message,
    text_and_entities,
)
from storage.models import Entity, ForwardOrigin, Media, Post, Reaction, utf16_len
from tests.exportkit import CHANNEL, CHANNEL_MORE, load, plain_text, shared_export

CID = 2447843635


def msg(**fields):
    base = {"id": 10, "type": "message", "date": "2024-03-12T08:17:00",
            "date_unixtime": "1710231420", "text": "", "text_entities": []}
    base.update(fields)
    return base


def utf16_slice(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[offset * 2:(offset + length) * 2].decode("utf-16-le")


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_len("abc") == 3
    assert utf16_len("Тёткино") == 7
    assert utf16_len("🔥") == 2
    assert utf16_len("a📹b") == 4


def test_text_as_plain_string():
    text, entities = text_and_entities({"text": "Легион вошёл в Тёткино"})
    assert text == "Легион вошёл в Тёткино"
    assert entities == ()


def test_mixed_text_list_gives_offsets_in_utf16_units():
    raw = {"text": ["Очень 📹 странные ", {"type": "bold", "text": "дела"}, " ",
                    {"type": "text_link", "text": "ТВИЧ", "href": "https://twitch.tv/x"},
                    "\n", {"type": "custom_emoji", "text": "💬", "document_id": "123"}]}
    text, entities = text_and_entities(raw)
    assert text == "Очень 📹 странные дела ТВИЧ\n💬"
    assert entities == (
        Entity("bold", 18, 4),
        Entity("text_link", 23, 4, url="https://twitch.tv/x"),
        Entity("custom_emoji", 28, 2, document_id="123"),
    )
    for e, part in zip(entities, ("дела", "ТВИЧ", "💬"), strict=True):
        assert utf16_slice(text, e.offset, e.length) == part


def test_text_entities_are_preferred_and_plain_parts_are_not_entities():
    raw = {"text": "ignored when text_entities exist",
           "text_entities": [{"type": "plain", "text": "Сводка "},
                             {"type": "hashtag", "text": "#Курск"},
                             {"type": "plain", "text": ""},
                             {"type": "mention_name", "text": "Иван", "user_id": 42},
                             {"type": "pre", "text": "x = 1", "language": "python"}]}
    text, entities = text_and_entities(raw)
    assert text == "Сводка #КурскИванx = 1"
    assert entities == (Entity("hashtag", 7, 6), Entity("mention_name", 13, 4, user_id=42),
                        Entity("pre", 17, 5, language="python"))


@pytest.mark.parametrize("which", ["own", "real"])
def test_every_fixture_message_text_and_offsets_are_exact(which):
    files = [CHANNEL, CHANNEL_MORE] if which == "own" else [
        shared_export("public_channel_excerpt.json"),
        shared_export("public_channel_small_verbatim.json")]
    for path in files:
        data = load(path)
        for raw in data["messages"]:
            post = parse_message(CID, raw)
            if isinstance(post, Skipped):
                continue
            assert post.text == plain_text(raw)
            styled = [e for e in raw["text_entities"] if e["type"] != "plain" and e["text"]]
            assert [e.type for e in post.entities] == [e["type"] for e in styled]
            for entity, part in zip(post.entities, styled, strict=True):
                assert utf16_slice(post.text, entity.offset, entity.length) == part["text"]


def test_a_message_with_every_field_becomes_the_same_post_as_captured():
    raw = msg(id=3858, edited="2026-06-19T15:26:54", edited_unixtime="1781868414",
              author="Редактор", photo="(File not included.)", photo_file_size=178051,
              width=896, height=1200, reply_to_message_id=3850,
              reactions=[{"type": "emoji", "count": 12, "emoji": "🔥"},
                         {"type": "custom_emoji", "count": 3, "document_id": "5368324170671202286"},
                         {"type": "paid", "count": 7}],
              text=["Сводка ", {"type": "bold", "text": "главное"}])
    post = parse_message(CID, raw)
    assert post == Post(
        channel_id=CID, message_id=3858, date=datetime(2024, 3, 12, 8, 17, tzinfo=UTC),
        text="Сводка главное", entities=(Entity("bold", 7, 7),),
        reactions=(Reaction("🔥", 12), Reaction("custom:5368324170671202286", 3),
                   Reaction("paid", 7)),
        media=Media("photo", size=178051, width=896, height=1200), reply_to_id=3850,
        author="Редактор", edit_date=datetime(2026, 6, 19, 11, 26, 54, tzinfo=UTC))
    assert post.views is None and post.forwards is None     # exports have no counts


@pytest.mark.parametrize(("fields", "media"), [
    ({"file": "x", "media_type": "video_file", "file_name": "1.mp4", "file_size": 1078558941,
      "mime_type": "video/mp4", "duration_seconds": 2956, "width": 1280, "height": 720},
     Media("video", "1.mp4", 1078558941, "video/mp4", 1280, 720, 2956.0)),
    ({"file": "x", "media_type": "voice_message", "file_size": 366895,
      "mime_type": "audio/ogg", "duration_seconds": 89},
     Media("voice", None, 366895, "audio/ogg", duration=89.0)),
    ({"file": "x", "media_type": "video_message", "file_name": "video.mp4"},
     Media("video_message", "video.mp4")),
    ({"file": "x", "media_type": "animation"}, Media("animation")),
    ({"file": "x", "media_type": "audio_file", "file_name": "МЫ ИЗ СЛИЗЕРИНА.mp3"},
     Media("audio", "МЫ ИЗ СЛИЗЕРИНА.mp3")),
    ({"file": "x", "media_type": "sticker", "sticker_emoji": "🙂"}, Media("sticker")),
    ({"file": "x", "file_name": "отчёт.pdf", "mime_type": "application/pdf"},
     Media("document", "отчёт.pdf", mime_type="application/pdf")),
    ({"poll": {"question": "?", "answers": []}}, Media("poll")),
    ({"location_information": {"latitude": 51.7, "longitude": 36.2}}, Media("location")),
    ({"place_name": "Суджа", "address": "Курская обл."}, Media("location")),
    ({"contact_information": {"first_name": "A"}}, Media("contact")),
    ({"paid_stars_amount": 10}, Media("other")),
    ({}, None),
])
def test_each_kind_of_media_in_an_export_becomes_its_media_record(fields, media):
    post = parse_message(CID, msg(**fields))
    assert isinstance(post, Post)
    assert post.media == media


def test_forwards_with_and_without_origin_id():
    known = parse_message(CID, msg(forwarded_from="ГУЗЕЛЬКА СТРИМЕРША",
                                   forwarded_from_id="channel1374438247"))
    hidden = parse_message(CID, msg(forwarded_from="Пересланный Пользователь Б"))
    from_user = parse_message(CID, msg(forwarded_from="Иван", forwarded_from_id="user42"))
    assert isinstance(known, Post) and isinstance(hidden, Post) and isinstance(from_user, Post)
    assert known.forward == ForwardOrigin(channel_id=1374438247, name="ГУЗЕЛЬКА СТРИМЕРША")
    assert hidden.forward == ForwardOrigin(name="Пересланный Пользователь Б")
    assert from_user.forward == ForwardOrigin(name="Иван")


def test_reply_to_another_chat_is_not_kept_as_a_reply_here():
    same = parse_message(CID, msg(reply_to_message_id=5))
    other = parse_message(CID, msg(reply_to_message_id=5, reply_to_peer_id="channel99"))
    assert isinstance(same, Post) and same.reply_to_id == 5
    assert isinstance(other, Post) and other.reply_to_id is None


def test_service_and_unsupported_messages_are_not_posts():
    service = {"id": 3, "type": "service", "date": "2024-09-29T14:13:08",
               "date_unixtime": "1727604788", "action": "edit_group_title", "title": "X",
               "text": "", "text_entities": []}
    assert parse_message(CID, service) == Skipped(3, "service")
    assert parse_message(CID, {"id": 7, "type": "unsupported"}) == Skipped(7, "unsupported")


def test_date_unixtime_wins_over_local_date():
    post = parse_message(CID, msg(date="2024-03-12T23:59:59", date_unixtime="1710231420"))
    assert isinstance(post, Post)
    assert post.date == datetime(2024, 3, 12, 8, 17, tzinfo=UTC)


def test_older_export_without_unixtime_needs_a_time_zone():
    raw = {"id": 3645, "type": "message", "date": "2022-03-08T13:07:42", "text": "hello"}
    with pytest.raises(NeedsTimeZoneError, match=r"3645.*no date_unixtime"):
        parse_message(CID, raw)
    moscow = parse_message(CID, raw, ZoneInfo("Europe/Moscow"))
    assert isinstance(moscow, Post)
    assert moscow.date == datetime(2022, 3, 8, 10, 7, 42, tzinfo=UTC)
    utc = parse_message(CID, {**raw, "edited": "2022-03-08T14:00:00"}, UTC)
    assert isinstance(utc, Post)
    assert utc.edit_date == datetime(2022, 3, 8, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "problem"), [
    ({"type": "message", "date_unixtime": "1"}, "no numeric \"id\""),
    ({"id": 1, "type": "message", "text": "x"}, "no date"),
    ({"id": 1, "type": "message", "date_unixtime": "soon"}, "bad date_unixtime"),
    ({"id": 1, "type": "poll_vote", "date_unixtime": "1"}, "unknown message type"),
    ({"id": 1, "type": "message", "date_unixtime": "1", "text": 5}, "not text"),
    ("a string", "not an object"),
])
def test_messages_that_cannot_be_read(raw, problem):
    with pytest.raises(MessageError, match=problem):
        parse_message(CID, raw)


def test_the_export_header_names_the_channel_public_or_private():
    header = chat_header({"name": "ГУЗЕЛЬСКИЕ ПЕРЕЗАЛИВЫ", "type": "public_channel", "id": CID})
    channel = channel_of(header)
    assert (channel.channel_id, channel.username, channel.title) == \
        (CID, None, "ГУЗЕЛЬСКИЕ ПЕРЕЗАЛИВЫ")
    private = channel_of(ChatHeader("private_channel", 1101170442, None))
    assert private.channel_id == 1101170442 and private.title is None


@pytest.mark.parametrize(("header", "error", "match"), [
    (ChatHeader("personal_chat", 700000000, "Bob"), NotAChannelError, "'Bob' \\(personal_chat\\)"),
    (ChatHeader("public_supergroup", 5, "Чат"), NotAChannelError, "not of a channel"),
    (ChatHeader("saved_messages", 5, None), NotAChannelError, "not of a channel"),
    (ChatHeader("secret_channel", 5, "x"), ExportFormatError, "unknown chat type"),
    (ChatHeader(None, 5, "x"), ExportFormatError, "no chat \"type\""),
    (ChatHeader("public_channel", None, "x"), ExportFormatError, "no numeric \"id\""),
])
def test_headers_that_are_not_channels(header, error, match):
    with pytest.raises(error, match=match):
        channel_of(header)


def test_old_internal_peer_ids_become_bare_ids():
    assert bare_channel_id(2447843635) == 2447843635
    assert bare_channel_id(0x200000000 + 1101170442) == 1101170442
