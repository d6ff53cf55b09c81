"""The words of ``/export`` (a pure parser): ``[csv|jsonl] [CHANNEL] [7d|30d|since DATE]
[deleted]`` in any order.

Each word says what it is: ``csv``/``jsonl`` a format, ``7d``/``12h``/``2w`` a period up
to now, ``since`` followed by a date the start of one, ``deleted`` that deleted posts
are included; any other word is a channel (a username with or without ``@``, an id, or
a ``t.me/NAME`` link). A channel whose username is one of those words is written with
``@`` (``@deleted``). A date is in the chat's time zone unless it carries an offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from config.dates import DateOptionError, parse_when
from config.errors import TgmonError
from storage.export import FORMATS

DEFAULT_SPAN = timedelta(days=7)
_SPAN = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_LINK = re.compile(r"(?:https?://)?t\.me/(?:s/)?([A-Za-z0-9_]+)/?")
USAGE = "/export [csv|jsonl] [CHANNEL] [7d|30d|since YYYY-MM-DD] [deleted]"


class ExportArgsError(TgmonError):
    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}\nUsage: {USAGE}")


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    channel: str | None          # as written (without @); None: every channel
    since: datetime              # aware; posts dated from here ...
    until: datetime              # ... up to here (exclusive): the moment it was asked
    deleted: bool                # include deleted posts


def _since_date(text: str, tz: tzinfo) -> datetime:
    try:
        return parse_when(text, "since", tz=tz)
    except DateOptionError as e:
        raise ExportArgsError(f"{e}.") from None


def parse_export_args(text: str, now: datetime, tz: tzinfo) -> ExportRequest:
    fmt: str | None = None
    channel: str | None = None
    since: datetime | None = None
    deleted = False
    words = text.split()
    i = 0
    while i < len(words):
        word, low = words[i], words[i].lower()
        i += 1
        if low in FORMATS:
            if fmt is not None and fmt != low:
                raise ExportArgsError(f"Two formats given ({fmt} and {low}): choose one.")
            fmt = low
        elif low == "deleted":
            deleted = True
        elif low == "since" or _SPAN.fullmatch(low):
            if since is not None:
                raise ExportArgsError("Two periods given: use one of 7d, 30d or since DATE.")
            if low == "since":
                if i == len(words):
                    raise ExportArgsError("since needs a date, e.g. since 2024-03-01.")
                since = _since_date(words[i], tz)
                i += 1
            else:
                span = int(low[:-1]) * _UNITS[low[-1]]
                if not span:
                    raise ExportArgsError(f"{word} is an empty period: use e.g. 7d or 30d.")
                since = now - span
        else:
            name = word[1:] if word.startswith("@") else word
            if link := _LINK.fullmatch(word):
                name = link[1]
            if not name:
                raise ExportArgsError("@ alone is not a channel: write @username.")
            if channel is not None:
                raise ExportArgsError(
                    f"Two channels given (@{channel} and {word}): export one channel, or "
                    "leave the channel out for all of them.")
            channel = name
    since = since if since is not None else now - DEFAULT_SPAN
    if since >= now:
        raise ExportArgsError(f"since {since:%Y-%m-%d %H:%M} is not in the past.")
    return ExportRequest(fmt or "csv", channel, since, now, deleted)
