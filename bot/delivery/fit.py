"""Message length as Telegram counts it: UTF-16 code units of the text after the HTML
is parsed into text and entities (as Telethon's HTML parser, which sends it, reads
it: tags dropped, character references decided, ``mailto:`` links shown as their
address, the ends stripped of white space)."""

from __future__ import annotations

from collections import deque
from html import escape
from html.parser import HTMLParser

from storage.models import utf16_len

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: deque[tuple[str, str | None]] = deque()   # innermost first

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = None
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None and href.startswith("mailto:"):
                shown = href[len("mailto:"):]
        self._open.appendleft((tag, shown))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.popleft()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[0][0] == "a" and self._open[0][1]:
            data = self._open[0][1]
        self.parts.append(data)


def message_text(html_text: str) -> str:
    """The text Telegram shows for ``html_text``."""
    if not html_text:
        return html_text
    parser = _TextOf()
    parser.feed(html_text)          # no close(), as Telethon: its rules for a cut end
    return "".join(parser.parts).strip()


def telegram_length(html_text: str) -> int:
    return utf16_len(message_text(html_text))


def plain_fallback(html_text: str, limit: int) -> str:
    """The message as escaped plain text, cut to fit (for a message that is too long)."""
    text = message_text(html_text)
    out, used = [], 0
    for ch in text:
        n = utf16_len(ch)
        if used + n > limit - 1:
            out.append("…")
            break
        out.append(ch)
        used += n
    return escape("".join(out))
