"""Sending the bot's messages: text, files and edits, with inline buttons, in
Telegram's HTML dialect. Answers the sent message's id."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from telethon import Button

# rows of (label, callback data)
ButtonRows = Sequence[Sequence[tuple[str, str]]]


def telethon_buttons(rows: ButtonRows | None) -> list[list[Button]] | None:
    if not rows:
        return None
    return [[Button.inline(label, data.encode()) for label, data in row] for row in rows]


async def deliver(bot: Any, chat_id: int, html_text: str, *, buttons: ButtonRows = (),
                  edit: int | None = None, file_data: bytes | None = None,
                  file_name: str | None = None, as_photo: bool = False,
                  reply_to: int | None = None, photo: Path | None = None) -> int | None:
    """Send ``html_text`` to ``chat_id`` (with ``file_data``: as a file's caption; with
    ``photo``, a picture on disk: as its caption), or put it in place of the text (or
    caption) of message ``edit``. Returns the message's id."""
    markup = telethon_buttons(buttons)
    if edit is not None:
        sent = await bot.edit_message(chat_id, edit, html_text, parse_mode="html",
                                      link_preview=False, buttons=markup)
    elif photo is not None:
        sent = await bot.send_file(chat_id, str(photo), caption=html_text, parse_mode="html",
                                   force_document=False, buttons=markup, reply_to=reply_to)
    elif file_data is not None:
        f = io.BytesIO(file_data)
        f.name = file_name or "file"
        sent = await bot.send_file(chat_id, f, caption=html_text, parse_mode="html",
                                   force_document=not as_photo, buttons=markup)
    else:
        sent = await bot.send_message(chat_id, html_text, parse_mode="html",
                                      link_preview=False, buttons=markup, reply_to=reply_to)
    return getattr(sent, "id", None)
