"""Finding the chats in an export file, streaming their messages.

Two layouts exist. "Export chat history" writes one chat:
``{"name", "type", "id", "messages": [...]}``. "Export Telegram data" (the whole
account) writes ``{"about", "personal_information", ..., "chats": {"about", "list":
[<chat>, ...]}, "left_chats": {...}}`` where every chat has the single-chat shape.
Telegram Desktop writes a chat's ``name``, ``type`` and ``id`` before its messages, so
messages can be handed out one by one as they are read; a file whose keys were
reordered (``messages`` first) is still read, holding that chat's messages in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from storage.imports.desktop import ChatHeader, ExportFormatError, chat_header
from storage.imports.jsonstream import JsonStream, JsonStreamError

SINGLE_CHAT = "single chat"
FULL_ACCOUNT = "full account"

_HEADER_KEYS = ("name", "type", "id")
_CHAT_LISTS = ("chats", "left_chats")      # a full account's chats, and chats it left


class ExportFileError(ExportFormatError):
    """The export file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Probe:
    """What the start of a file says: its layout and, for one chat, its header."""

    layout: str
    header: ChatHeader | None = None    # a single chat's, when it comes before its messages


def _describe_start(head: bytes) -> str | None:
    """Name a file that is clearly not a JSON export, from its first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "it is empty"
    if text.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive: unzip it and import the result.json inside"
    if text[:1] == b"<":
        return ("it looks like HTML (Telegram Desktop's HTML export): export again with "
                "format \"Machine-readable JSON\" and import result.json")
    if text[:1] not in (b"{", b"["):
        return "it is not JSON (a Telegram Desktop export is a JSON file, result.json)"
    return None


def check_path(path: Path) -> None:
    """Refuse what is not a readable file before anything is opened for writing."""
    if not path.exists():
        raise ExportFileError(f"{path}: no such file")
    if path.is_dir():
        hint = " (import the result.json inside it)" if (path / "result.json").exists() else ""
        raise ExportFileError(f"{path} is a directory, not an export file{hint}")
    if not path.is_file():
        raise ExportFileError(f"{path} is not a regular file")
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as e:
        raise ExportFileError(f"cannot read {path}: {e.strerror or e}") from None
    problem = _describe_start(head)
    if problem:
        raise ExportFileError(f"{path}: {problem}")


def stream_error(path: Path, e: JsonStreamError, where: str = "") -> ExportFileError:
    place = f" {where}" if where else ""
    if e.truncated:
        return ExportFileError(
            f"{path} is truncated: {e.detail} (line {e.line}){place}; "
            "export it again or copy the whole file")
    return ExportFileError(f"{path} is not valid JSON: {e.detail} (line {e.line}){place}")


def _not_an_export(path: Path, detail: str) -> ExportFileError:
    return ExportFileError(
        f"{path} is JSON but not a Telegram Desktop export ({detail}); use the result.json "
        "of \"Export chat history\" or \"Export Telegram data\" in JSON format")


@contextmanager
def open_stream(path: Path) -> Iterator[JsonStream]:
    try:
        f: BinaryIO = path.open("rb")
    except OSError as e:
        raise ExportFileError(f"cannot read {path}: {e.strerror or e}") from None
    with f:
        yield JsonStream(f)


def probe(path: Path) -> Probe:
    """Read just enough of the file to know its layout (and a single chat's header),
    so bad files are refused before anything is written."""
    check_path(path)
    with open_stream(path) as js:
        try:
            if js.peek() != "{":
                raise _not_an_export(path, "it is not a JSON object")
            fields: dict[str, Any] = {}
            for key in js.object_keys():
                if key in _HEADER_KEYS:
                    fields[key] = js.value()
                elif key == "messages":
                    # Keys reordered by another tool: the header is only known later.
                    return Probe(SINGLE_CHAT, chat_header(fields) if _has_header(fields)
                                 else None)
                elif key in _CHAT_LISTS:
                    return Probe(FULL_ACCOUNT)
                else:
                    js.skip()
        except JsonStreamError as e:
            raise stream_error(path, e) from None
    raise _not_an_export(path, "it has no \"messages\" and no \"chats\"")


def chat_headers(path: Path) -> list[ChatHeader]:
    """The header of every chat of the file, its messages skipped without being decoded:
    an import checks which channels its files hold before it writes anything."""
    with open_stream(path) as js:
        return [chat.header for chat in ExportReader(path, js).chats()]


# ---- reading chats -----------------------------------------------------------------

@dataclass
class ChatReader:
    """One chat of an export: its header and an iterator over its raw messages."""

    header: ChatHeader
    messages: Iterator[Any]


class ExportReader:
    """Walks an export file and yields its chats; each chat's messages must be read (or
    abandoned) before the next chat is asked for. ``bytes_read`` drives progress bars."""

    def __init__(self, path: Path, js: JsonStream) -> None:
        self.path = path
        self._js = js
        self.last_message_id: Any = None

    @property
    def bytes_read(self) -> int:
        return self._js.bytes_read

    def chats(self) -> Iterator[ChatReader]:
        js = self._js
        try:
            if js.peek() != "{":
                raise _not_an_export(self.path, "it is not a JSON object")
            found = False
            fields: dict[str, Any] = {}
            held: list[Any] | None = None
            for key in js.object_keys():
                if key in _HEADER_KEYS:
                    fields[key] = js.value()
                elif key == "messages":
                    found = True
                    if _has_header(fields):
                        yield from self._lazy_chat(fields)
                    else:
                        held = self._hold()
                elif key in _CHAT_LISTS:
                    found = True
                    yield from self._chat_list()
                else:
                    js.skip()
            js.end()
            if held is not None:
                yield ChatReader(chat_header(fields), iter(held))
        except JsonStreamError as e:
            raise self._stream_error(e) from None
        if not found:
            raise _not_an_export(self.path, "it has no \"messages\" and no \"chats\"")

    def _chat_list(self) -> Iterator[ChatReader]:
        js = self._js
        if js.peek() != "{":
            js.skip()
            return
        for key in js.object_keys():
            if key != "list" or js.peek() != "[":
                js.skip()
                continue
            for _ in js.array_items():
                if js.peek() == "{":
                    yield from self._chat()
                else:
                    js.skip()

    def _chat(self) -> Iterator[ChatReader]:
        """One chat object of a full-account export's list."""
        js = self._js
        fields: dict[str, Any] = {}
        held: list[Any] | None = None
        for key in js.object_keys():
            if key in _HEADER_KEYS:
                fields[key] = js.value()
            elif key == "messages":
                if _has_header(fields):
                    yield from self._lazy_chat(fields)
                else:
                    held = self._hold()
            else:
                js.skip()
        if held is not None:
            yield ChatReader(chat_header(fields), iter(held))

    def _lazy_chat(self, fields: dict[str, Any]) -> Iterator[ChatReader]:
        """At a ``messages`` key: hand out the chat with a lazy message iterator, then
        skip whatever the consumer did not read (a chat that is not imported)."""
        js = self._js
        if js.peek() != "[":
            raise _not_an_export(self.path, "\"messages\" is not a list")
        items = js.array_items()
        yield ChatReader(chat_header(fields), self._messages(items))
        for _ in items:
            js.skip(depth=0)

    def _hold(self) -> list[Any]:
        """Messages that come before their chat's ``type`` and ``id`` (keys reordered by
        some tool): kept in memory until the header is known."""
        js = self._js
        if js.peek() != "[":
            raise _not_an_export(self.path, "\"messages\" is not a list")
        return list(self._messages(js.array_items()))

    def _messages(self, items: Iterator[None]) -> Iterator[Any]:
        """Raw messages, one decoded at a time (the importer drives this iterator, so
        errors of the file are translated here too)."""
        try:
            for _ in items:
                raw = self._js.value()
                if isinstance(raw, dict):
                    self.last_message_id = raw.get("id", self.last_message_id)
                yield raw
        except JsonStreamError as e:
            raise self._stream_error(e) from None

    def _stream_error(self, e: JsonStreamError) -> ExportFileError:
        where = (f"after message {self.last_message_id}"
                 if self.last_message_id is not None else "")
        return stream_error(self.path, e, where)


def _has_header(fields: dict[str, Any]) -> bool:
    return "type" in fields and "id" in fields
