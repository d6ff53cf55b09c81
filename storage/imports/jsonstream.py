"""Reading a large JSON file piece by piece, with memory bounded by its largest message.

Telegram Desktop exports of big channels reach hundreds of megabytes; ``json.load``
would hold the whole tree (several times the file size) in memory. This reader walks
the outer objects and arrays itself and hands each inner value (one message, one
chat header field) to the C decoder of :mod:`json`, so only one message at a time is
ever decoded.

It also accepts the ``\\xHH`` escapes that Telegram Desktop writes for control
characters (``SerializeString`` in its exporter), which strict JSON forbids.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

_WS = re.compile(r"[ \t\n\r]*")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_DECODER = json.JSONDecoder()

# One value (a message) larger than this is refused rather than buffered without end.
MAX_VALUE_CHARS = 64 * 1024 * 1024


class JsonStreamError(ValueError):
    """The file is not valid JSON (``truncated`` when it ends too early)."""

    def __init__(self, detail: str, *, line: int, truncated: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line
        self.truncated = truncated


def _may_go_on(e: json.JSONDecodeError, buf: str) -> bool:
    """Before the end of the file: could this error vanish with more text?"""
    return e.msg.startswith("Unterminated string") or e.pos >= len(buf) - 8


_LITERAL_STARTS = ("true", "false", "null", "-", "Infinity", "NaN")


def _ran_out(e: json.JSONDecodeError, buf: str) -> bool:
    """At the end of the file: did the decoder fail because the text stopped?"""
    rest = buf[e.pos:].rstrip()
    if e.msg.startswith("Unterminated string") or not rest:
        return True
    if e.msg == "Expecting value":
        return any(lit.startswith(rest) for lit in _LITERAL_STARTS)
    if e.msg == "Invalid \\uXXXX escape":
        return len(rest) < 6
    return False


class JsonStream:
    """A cursor over a JSON document read from a binary file in chunks."""

    def __init__(self, raw: BinaryIO, chunk_bytes: int = 1 << 20) -> None:
        self._raw = raw
        self._chunk = chunk_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_before = 0       # newlines in text already dropped from the buffer
        self.bytes_read = 0

    # ---- buffer --------------------------------------------------------------

    def _fill(self) -> bool:
        """Append the next chunk; False once the file is exhausted."""
        if self._eof:
            return False
        data = self._raw.read(self._chunk)
        self.bytes_read += len(data)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            if not data:
                raise self._error("it ends in the middle of a character", truncated=True) from None
            raise self._error("it is not UTF-8 text") from None
        if not data:
            self._eof = True
        self._lines_before += self._buf.count("\n", 0, self._pos)
        self._buf = self._buf[self._pos:] + text
        self._pos = 0
        return bool(text) or not self._eof

    @property
    def line(self) -> int:
        """1-based line of the cursor, for error messages."""
        return self._lines_before + self._buf.count("\n", 0, self._pos) + 1

    def _error(self, detail: str, truncated: bool = False) -> JsonStreamError:
        return JsonStreamError(detail, line=self.line, truncated=truncated)

    def peek(self) -> str:
        """The next non-blank character without consuming it; "" at the end of the file."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def _expect(self, char: str, what: str) -> None:
        found = self.peek()
        if found == char:
            self._pos += 1
            return
        if not found:
            raise self._error(f"it ends where {what} was expected", truncated=True)
        raise self._error(f"expected {what}, found {found!r}")

    # ---- values --------------------------------------------------------------

    def value(self) -> Any:
        """Decode the next complete value (any JSON type) and move past it."""
        if not self.peek():
            raise self._error("it ends where a value was expected", truncated=True)
        while True:
            try:
                obj, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if self._repair_escape(e):
                    continue
                if not self._eof and _may_go_on(e, self._buf):
                    # The value probably continues in the next chunk: read more, retry.
                    if len(self._buf) - self._pos >= MAX_VALUE_CHARS:
                        raise self._error("one value is larger than 64 MB") from None
                    self._fill()
                    continue
                if self._eof and _ran_out(e, self._buf):
                    raise self._error("it ends in the middle of a value", truncated=True) from None
                self._pos = e.pos
                raise self._error(e.msg) from None
            # A number close to the end of the buffer may go on in the next chunk
            # ("-1" of "-1.5e3").
            if (not self._eof and len(self._buf) - end < 32 and isinstance(obj, int | float)
                    and not isinstance(obj, bool)):
                self._fill()
                continue
            self._pos = end
            return obj

    def _repair_escape(self, e: json.JSONDecodeError) -> bool:
        """Turn Telegram Desktop's ``\\xHH`` into ``\\u00HH`` where the decoder stopped."""
        at = e.pos
        if e.msg != "Invalid \\escape" or self._buf[at:at + 2] != "\\x":
            return False
        if len(self._buf) < at + 4 and self._fill():
            return True          # the two hex digits are in the next chunk: retry
        if not _HEX2.fullmatch(self._buf, at + 2, at + 4):
            return False
        self._buf = f"{self._buf[:at]}\\u00{self._buf[at + 2:]}"
        return True

    # ---- containers ----------------------------------------------------------

    def object_keys(self) -> Iterator[str]:
        """Enter an object and yield its keys; the caller consumes each value before
        asking for the next key (with :meth:`value`, :meth:`skip` or a nested walk)."""
        self._expect("{", "an object '{'")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                self._expect('"', "a key")
            key = self.value()
            self._expect(":", "':'")
            yield key
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
                continue
            self._expect("}", "',' or '}'")
            return

    def array_items(self) -> Iterator[None]:
        """Enter an array and yield once per element; the caller consumes each element."""
        self._expect("[", "an array '['")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield None
            nxt = self.peek()
            if nxt == ",":
                self._pos += 1
                continue
            self._expect("]", "',' or ']'")
            return

    def skip(self, depth: int = 2) -> None:
        """Move past the next value. Containers are walked ``depth`` levels down so a
        huge list (another chat's messages) is never decoded whole."""
        first = self.peek()
        if depth > 0 and first == "{":
            for _ in self.object_keys():
                self.skip(depth - 1)
        elif depth > 0 and first == "[":
            for _ in self.array_items():
                self.skip(depth - 1)
        else:
            self.value()

    def end(self) -> None:
        """Check nothing but blanks follows the document."""
        found = self.peek()
        if found:
            raise self._error(f"unexpected {found!r} after the end of the document")
