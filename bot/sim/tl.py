"""TL plumbing: everything between the client and the simulated server crosses as bytes,
so an object Telegram would reject (a missing required field, a wrong type, a flag out of
step with its field) fails here too.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

from telethon.errors import rpc_message_to_error
from telethon.extensions import BinaryReader
from telethon.tl import functions, types
from telethon.tl.tlobject import TLObject, TLRequest

VECTOR = 0x1CB5C415
BOOL_TRUE = 0x997275B5
BOOL_FALSE = 0xBC799737


class RpcFail(Exception):
    """An RPC error the server answers with (``code``, ``message`` as Telegram sends them)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def flood_wait(seconds: float) -> RpcFail:
    """``FLOOD_WAIT_X``, X the whole seconds (at least 1) until the call is allowed."""
    return RpcFail(420, f"FLOOD_WAIT_{max(1, math.ceil(seconds))}")


def as_exception(fail: RpcFail, request: TLRequest) -> Exception:
    """The exception Telethon raises for this error (FloodWaitError, UserIsBlockedError...)."""
    return rpc_message_to_error(types.RpcError(fail.code, fail.message), request)


def roundtrip(obj: TLObject) -> Any:
    """Serialize and parse back: a fresh, independent copy, as the other side decodes it."""
    return BinaryReader(bytes(obj)).tgread_object()


def result_bytes(result: object) -> bytes:
    """The wire form of a result: a TL object, a vector of them, or a Bool."""
    if isinstance(result, bool):
        return struct.pack("<I", BOOL_TRUE if result else BOOL_FALSE)
    if isinstance(result, list):
        return struct.pack("<Ii", VECTOR, len(result)) + b"".join(bytes(x) for x in result)
    if isinstance(result, TLObject):
        return bytes(result)
    raise TypeError(f"cannot serialize a {type(result).__name__} as a TL result")


def decode_result(request: TLRequest, data: bytes) -> Any:
    """Parse result bytes the way the client does for this request."""
    return request.read_result(BinaryReader(data))


# ---- method names: "messages.getHistory" <-> functions.messages.GetHistoryRequest ----

def method_name(request: type[TLRequest] | TLRequest) -> str:
    cls = request if isinstance(request, type) else type(request)
    namespace = cls.__module__.rsplit(".", 1)[-1]
    base = cls.__name__.removesuffix("Request")
    name = base[0].lower() + base[1:]
    return name if namespace == "functions" else f"{namespace}.{name}"


def request_class(name: str) -> type[TLRequest] | None:
    """The request class of a method name such as ``messages.getHistory``; None if unknown."""
    if not re.fullmatch(r"(?:[a-z][A-Za-z]*\.)?[a-z][A-Za-z0-9]*", name):
        return None
    namespace, _, method = name.rpartition(".")
    module = getattr(functions, namespace, None) if namespace else functions
    cls = getattr(module, method[0].upper() + method[1:] + "Request", None)
    return cls if isinstance(cls, type) and issubclass(cls, TLRequest) else None


# ---- text ----



_ENTITY_NAMES = {
    "MessageEntityTextUrl": "text_link",
    "MessageEntityMentionName": "mention_name",
    "InputMessageEntityMentionName": "mention_name",
    "MessageEntityStrike": "strikethrough",
}


def entity_type(entity: TLObject) -> str:
    """Telegram's name of an entity type (as in exports): bold, text_link, bot_command..."""
    name = type(entity).__name__
    if name in _ENTITY_NAMES:
        return _ENTITY_NAMES[name]
    base = name.removeprefix("MessageEntity")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def entity_dict(entity: TLObject) -> dict[str, Any]:
    out: dict[str, Any] = {"type": entity_type(entity), "offset": entity.offset,
                           "length": entity.length}
    url = getattr(entity, "url", None)
    if url:
        out["url"] = url
    return out


_ENTITY_CLASSES = {
    "bold": types.MessageEntityBold, "italic": types.MessageEntityItalic,
    "underline": types.MessageEntityUnderline, "strikethrough": types.MessageEntityStrike,
    "spoiler": types.MessageEntitySpoiler, "code": types.MessageEntityCode,
    "url": types.MessageEntityUrl, "email": types.MessageEntityEmail,
    "hashtag": types.MessageEntityHashtag, "cashtag": types.MessageEntityCashtag,
    "mention": types.MessageEntityMention, "bot_command": types.MessageEntityBotCommand,
    "phone": types.MessageEntityPhone, "blockquote": types.MessageEntityBlockquote,
}
ENTITY_TYPES = (*sorted(_ENTITY_CLASSES), "text_link", "pre")


def make_entity(kind: str, offset: int, length: int, url: str | None = None) -> TLObject:
    """A message entity from its Telegram name (the inverse of :func:`entity_dict`)."""
    if kind == "text_link":
        return types.MessageEntityTextUrl(offset, length, url or "")
    if kind == "pre":
        return types.MessageEntityPre(offset, length, "")
    if kind == "blockquote":
        return types.MessageEntityBlockquote(offset, length)
    return _ENTITY_CLASSES[kind](offset, length)
