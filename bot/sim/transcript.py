"""The transcript of a simulated run: every message between the bot and people, one JSON
object per line, as the person saw it (plain text after entity parsing, entities with
UTF-16 offsets, the file's name and size)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.sim.model import ChatMessage
from storage.timefmt import to_db


def transcript_entry(m: ChatMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": to_db(m.at),
        "direction": "out" if m.out else "in",
        "chat_id": m.chat_id,
        "text": m.text,
        "entities": [{k: v for k, v in (("type", e.type), ("offset", e.offset),
                                         ("length", e.length), ("url", e.url)) if v is not None}
                     for e in m.entities],
    }
    if m.chat_id < 0:
        entry["from"] = m.sender_id          # who wrote, in a group
    if m.file is not None:
        entry["file"] = dict(m.file)
    if m.buttons:
        entry["buttons"] = [b.decode("utf-8", "replace") for b in m.buttons]
    if m.edited:
        entry["edited"] = True               # a new version of an earlier message
        entry["message_id"] = m.id
    return entry


def transcript_entries(chat_log: Iterable[ChatMessage]) -> Iterator[dict[str, Any]]:
    return (transcript_entry(m) for m in chat_log)


def write_transcript(path: Path, chat_log: Iterable[ChatMessage]) -> int:
    """Write the JSON Lines file (replacing it) in its existing directory; returns the
    number of lines."""
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for entry in transcript_entries(chat_log):
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n
