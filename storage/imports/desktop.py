"""Telegram Desktop "Export chat history" JSON -> channel record and :class:`Post` s.

Pure functions over already-decoded JSON values: no file, no database, no clock.
The format is described in ``shared/notes/telegram-formats.md`` (tdesktop's
``export_output_json.cpp``). What the export does not carry stays empty: views and
forwards (a later Telethon capture fills them), the album id, the username.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from config.errors import TgmonError
from storage.models import Channel, Entity, ForwardOrigin, Media, Post, Reaction, utf16_len
from storage.timefmt import from_unix

CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})
CHAT_TYPES = frozenset({
    "saved_messages", "replies", "verification_codes", "personal_chat", "bot_chat",
    "private_group", "private_supergroup", "public_supergroup", "private_channel",
    "public_channel",
})

# Very old exports wrote tdesktop's internal peer id: a channel's bare id plus this.
_OLD_CHANNEL_PEER_SHIFT = 0x200000000

# media_type of a document -> Media.kind (as the rest of tgmon names media)
_DOCUMENT_KINDS = {
    "sticker": "sticker", "video_message": "video_message", "voice_message": "voice",
    "animation": "animation", "video_file": "video", "audio_file": "audio",
}
# Placeholders written instead of a file path when files are not exported.
_NOT_A_PATH = "("


class ExportFormatError(TgmonError):
    """The file is not a Telegram Desktop JSON export tgmon can read."""


class NotAChannelError(TgmonError):
    """The export is of a chat that is not a channel."""


class MessageError(ValueError):
    """One message cannot be read; the importer names the file around it."""

    def __init__(self, message_id: Any, problem: str) -> None:
        super().__init__(f"message {message_id}: {problem}")
        self.message_id = message_id
        self.problem = problem


class NeedsTimeZoneError(MessageError):
    """An older export gave only local wall-clock time and no time zone was given."""


@dataclass(frozen=True)
class ChatHeader:
    """What an export says about the chat itself."""

    kind: str | None          # public_channel, personal_chat, ...
    chat_id: int | None
    name: str | None

    @property
    def is_channel(self) -> bool:
        return self.kind in CHANNEL_TYPES

    def describe(self) -> str:
        name = f"{self.name!r}" if self.name else "unnamed chat"
        return f"{name} ({self.kind or 'no type'})"


@dataclass(frozen=True)
class Skipped:
    """A message id that is not stored as a post."""

    message_id: int
    reason: str               # "service" (noted in absent_messages) or "unsupported"


def chat_header(fields: Mapping[str, Any]) -> ChatHeader:
    """The header of a chat from its ``name``, ``type`` and ``id`` fields."""
    kind = fields.get("type")
    chat_id = fields.get("id")
    name = fields.get("name")
    return ChatHeader(
        kind=kind if isinstance(kind, str) else None,
        chat_id=chat_id if isinstance(chat_id, int) and not isinstance(chat_id, bool) else None,
        name=name if isinstance(name, str) else None,
    )


def channel_of(header: ChatHeader) -> Channel:
    """The channel an export is of; raises if the chat is not a channel."""
    if header.kind is None:
        raise ExportFormatError("it has no chat \"type\"")
    if header.kind not in CHAT_TYPES:
        raise ExportFormatError(f"unknown chat type {header.kind!r}")
    if not header.is_channel:
        raise NotAChannelError(f"it is an export of {header.describe()}, not of a channel")
    if header.chat_id is None or header.chat_id <= 0:
        raise ExportFormatError("the channel has no numeric \"id\"")
    return Channel(bare_channel_id(header.chat_id), None, header.name or None)


def bare_channel_id(export_id: int) -> int:
    """The bare id (``t.me/c/<id>/...``) from an export's ``id``: current exports write
    it as is; very old ones wrote the internal peer id, a 32-bit id plus 2**33."""
    if _OLD_CHANNEL_PEER_SHIFT <= export_id < _OLD_CHANNEL_PEER_SHIFT + (1 << 32):
        return export_id - _OLD_CHANNEL_PEER_SHIFT
    return export_id


# ---- text and entities ---------------------------------------------------------



def _parts(raw: Mapping[str, Any]) -> list[Any]:
    """The text parts of a message: ``text_entities`` (always objects) when present,
    else ``text`` (a string, or a list mixing strings and objects)."""
    entities = raw.get("text_entities")
    if isinstance(entities, list) and (entities or not raw.get("text")):
        return entities
    text = raw.get("text", "")
    if isinstance(text, list):
        return text
    if isinstance(text, str):
        return [text]
    raise MessageError(raw.get("id"), f"\"text\" is {type(text).__name__}, not text")


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def text_and_entities(raw: Mapping[str, Any]) -> tuple[str, tuple[Entity, ...]]:
    """Plain text exactly as posted, and its formatting with UTF-16 offsets.

    Export parts carry no offsets: each part starts where the previous one ended.
    """
    pieces: list[str] = []
    entities: list[Entity] = []
    offset = 0
    for part in _parts(raw):
        if isinstance(part, str):
            kind, text = "plain", part
        elif isinstance(part, Mapping) and isinstance(part.get("text", ""), str):
            kind, text = str(part.get("type") or "plain"), part.get("text", "")
        else:
            raise MessageError(raw.get("id"), "a text part is neither text nor an object")
        length = utf16_len(text)
        if kind != "plain" and length:
            assert isinstance(part, Mapping)
            entities.append(Entity(
                type=kind, offset=offset, length=length,
                url=part.get("href") if isinstance(part.get("href"), str) else None,
                user_id=_opt_int(part.get("user_id")),
                language=part.get("language") or None,
                document_id=str(part["document_id"]) if part.get("document_id") else None,
            ))
        pieces.append(text)
        offset += length
    return "".join(pieces), tuple(entities)


# ---- the other fields ------------------------------------------------------------

def _time(raw: Mapping[str, Any], key: str, export_tz: tzinfo | None) -> datetime | None:
    """``<key>_unixtime`` (UTC epoch seconds as a string) when present; else the naive
    local ``<key>`` of older exports, read in ``export_tz``."""
    unix = raw.get(f"{key}_unixtime")
    if unix is not None:
        try:
            return from_unix(int(unix))
        except (TypeError, ValueError, OverflowError, OSError):
            raise MessageError(raw.get("id"), f"bad {key}_unixtime {unix!r}") from None
    local = raw.get(key)
    if local is None:
        return None
    try:
        wall = datetime.fromisoformat(str(local))
    except ValueError:
        raise MessageError(raw.get("id"), f"bad {key} {local!r}") from None
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    if export_tz is None:
        raise NeedsTimeZoneError(
            raw.get("id"), f"it has no {key}_unixtime, only the local time {local}")
    return wall.replace(tzinfo=export_tz).astimezone(UTC)


@dataclass(frozen=True)
class ExportedFile:
    """Where an export says a message's media file is: ``path`` relative to the export's
    folder (``photos/…``, ``files/…``, ``video_files/…``), or ``note`` when the export
    did not include it."""

    path: str | None
    note: str | None = None


def exported_file(raw: Mapping[str, Any]) -> ExportedFile | None:
    """The media file an exported message names, if it has one."""
    value = raw.get("photo") if "photo" in raw else raw.get("file")
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(_NOT_A_PATH):
        return ExportedFile(None, value.strip("()").strip() or "not included in the export")
    if value.startswith("/") or ".." in value.replace("\\", "/").split("/"):
        return ExportedFile(None, f"the export names {value!r}, outside its folder")
    return ExportedFile(value)


def _media(raw: Mapping[str, Any]) -> Media | None:
    def num(key: str) -> int | None:
        return _opt_int(raw.get(key))

    if "photo" in raw:
        return Media("photo", size=num("photo_file_size"), width=num("width"),
                     height=num("height"))
    if "file" in raw or "media_type" in raw:
        kind = _DOCUMENT_KINDS.get(str(raw.get("media_type")), "document")
        name = raw.get("file_name")
        duration = raw.get("duration_seconds")
        return Media(kind, file_name=name if isinstance(name, str) else None,
                     size=num("file_size"),
                     mime_type=raw.get("mime_type") if isinstance(raw.get("mime_type"), str)
                     else None,
                     width=num("width"), height=num("height"),
                     duration=float(duration) if isinstance(duration, int | float) else None)
    if "poll" in raw:
        return Media("poll")
    if "location_information" in raw or "place_name" in raw:
        return Media("location")
    if "contact_information" in raw:
        return Media("contact")
    if any(k in raw for k in ("game_title", "invoice_information", "giveaway_information",
                              "giveaway_results", "paid_stars_amount")):
        return Media("other")
    return None


def _peer_channel_id(value: Any) -> int | None:
    """``"channel123"`` -> 123; users, chats and old numeric ids are not channels."""
    if isinstance(value, str) and value.startswith("channel") and value[7:].isdigit():
        return int(value[7:])
    return None


def _forward(raw: Mapping[str, Any]) -> ForwardOrigin | None:
    if "forwarded_from" not in raw and "forwarded_from_id" not in raw:
        return None
    name = raw.get("forwarded_from")
    return ForwardOrigin(channel_id=_peer_channel_id(raw.get("forwarded_from_id")),
                         name=name if isinstance(name, str) else None)


def _reactions(raw: Mapping[str, Any]) -> tuple[Reaction, ...]:
    out = []
    for r in raw.get("reactions") or ():
        if not isinstance(r, Mapping):
            continue
        count = _opt_int(r.get("count")) or 0
        if r.get("type") == "custom_emoji" or ("document_id" in r and "emoji" not in r):
            out.append(Reaction(f"custom:{r.get('document_id')}", count))
        elif isinstance(r.get("emoji"), str):
            out.append(Reaction(r["emoji"], count))
        elif isinstance(r.get("type"), str):
            out.append(Reaction(r["type"], count))     # e.g. "paid" (star reactions)
    return tuple(out)


def _reply_to(raw: Mapping[str, Any], channel_id: int) -> int | None:
    # A reply to another chat's message would point at the wrong post here.
    peer = raw.get("reply_to_peer_id")
    if peer is not None and _peer_channel_id(peer) != channel_id:
        return None
    return _opt_int(raw.get("reply_to_message_id"))


def parse_message(channel_id: int, raw: Any, export_tz: tzinfo | None = None) -> Post | Skipped:
    """One exported message as a :class:`Post`, or the id of one that is not a post."""
    if not isinstance(raw, Mapping):
        raise MessageError("?", "it is not an object")
    mid = raw.get("id")
    if not isinstance(mid, int) or isinstance(mid, bool) or mid <= 0:
        raise MessageError(mid if mid is not None else "?", "it has no numeric \"id\"")
    kind = raw.get("type", "message")
    if kind == "service":
        return Skipped(mid, "service")
    if kind == "unsupported":
        # Telegram Desktop wrote only the id: the post exists but its content is unknown.
        return Skipped(mid, "unsupported")
    if kind != "message":
        raise MessageError(mid, f"unknown message type {kind!r}")
    date = _time(raw, "date", export_tz)
    if date is None:
        raise MessageError(mid, "it has no date")
    text, entities = text_and_entities(raw)
    author = raw.get("author")
    return Post(
        channel_id=channel_id, message_id=mid, date=date, text=text, entities=entities,
        reactions=_reactions(raw), media=_media(raw), forward=_forward(raw),
        reply_to_id=_reply_to(raw, channel_id),
        author=author if isinstance(author, str) and author else None,
        edit_date=_time(raw, "edited", export_tz),
    )
