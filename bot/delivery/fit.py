"""Message length as Telegram counts it: UTF-16 code units of the text after the HTML
is parsed into text and entities."""

from __future__ import annotations

from html import escape

from telethon.extensions import html as telethon_html

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram_length(html_text: str) -> int:
    text, _ = telethon_html.parse(html_text)
    return utf16_len(text)


def plain_fallback(html_text: str, limit: int) -> str:
    """The message as escaped plain text, cut to fit (for a message that is too long)."""
    text, _ = telethon_html.parse(html_text)
    out, used = [], 0
    for ch in text:
        n = utf16_len(ch)
        if used + n > limit - 1:
            out.append("…")
            break
        out.append(ch)
        used += n
    return escape("".join(out))
