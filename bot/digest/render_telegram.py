"""The digest as Telegram messages in Telethon's HTML parse mode.

Limits (see the shared notes on Telegram formats): a message holds at most 4096 UTF-16
code units of text *after* the HTML is parsed into text and entities, and Telegram
ignores formatting beyond the 100th entity of a message. Each message is measured from
the plain text its spans stand for and kept within ``limit - headroom`` units and
``max_entities`` entities. Messages are cut between items only (an item alone too long
for a message is cut between its lines), a section cut in two repeats its title, and
every message is complete HTML on its own. Only tags Telethon's parser knows are used
(b, i, a), and every piece of text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from html import escape

from bot.digest.excerpt import shorten
from bot.digest.layout import Block, Line, Span, fmt_period, layout
from bot.digest.model import Digest
from storage.models import utf16_len

LIMIT = 4096              # message text, in UTF-16 code units after entity parsing
HEADROOM = 96
MAX_ENTITIES = 100
CAPTION_LIMIT = 1024      # a photo's caption




@dataclass(frozen=True)
class _Rendered:
    html: str
    units: int                # UTF-16 units of the text it stands for
    entities: int


def _span(span: Span) -> _Rendered:
    if not span.text:
        return _Rendered("", 0, 0)
    html, entities = escape(span.text, quote=False), 0
    if span.url:
        html = f'<a href="{escape(span.url, quote=True)}">{html}</a>'
        entities += 1
    if span.style:
        html = f"<{span.style}>{html}</{span.style}>"
        entities += 1
    return _Rendered(html, utf16_len(span.text), entities)


def render_line(line: Line) -> _Rendered:
    parts = [_span(s) for s in line]
    return _Rendered("".join(p.html for p in parts), sum(p.units for p in parts),
                     sum(p.entities for p in parts))


def _shrink(line: Line, units: int) -> _Rendered:
    """A line cut to ``units``: its last span shortened (only for absurdly long lines)."""
    *first, last = line
    room = units - render_line(tuple(first)).units
    width = max(1, min(len(last.text), room))
    while width > 1:
        cut = render_line((*first, Span(shorten(last.text, width), last.style, last.url)))
        if cut.units <= units:
            return cut
        width = width * 3 // 4
    return render_line((*first, Span("…", last.style, last.url)))


class _Packer:
    """Fills messages line by line within the budget."""

    def __init__(self, budget: int, max_entities: int) -> None:
        self.budget = budget
        self.max_entities = max_entities
        self.messages: list[str] = []
        self._lines: list[_Rendered] = []
        self._units = 0
        self._entities = 0

    @property
    def empty(self) -> bool:
        return not self._lines

    def fits(self, lines: list[_Rendered]) -> bool:
        newlines = len(lines) - (1 if self.empty else 0)
        units = self._units + newlines + sum(x.units for x in lines)
        entities = self._entities + sum(x.entities for x in lines)
        return units <= self.budget and entities <= self.max_entities

    def push(self, lines: list[_Rendered]) -> None:
        for x in lines:
            self._units += x.units + (0 if self.empty else 1)
            self._entities += x.entities
            self._lines.append(x)

    def flush(self) -> None:
        if self._lines:
            self.messages.append("\n".join(x.html for x in self._lines))
        self._lines, self._units, self._entities = [], 0, 0


_BLANK = _Rendered("", 0, 0)


def _title(text: str, continued: bool) -> _Rendered:
    return render_line((Span(f"{text} (continued)" if continued else text, "b"),))


def _pack_section(p: _Packer, title: str, blocks: tuple[Block, ...]) -> None:
    titled = False            # the section's title is in the message being filled
    started = False           # some of the section is already out
    for block in blocks:
        body = [render_line(line) for line in block.lines]
        lead = [] if titled else ([] if p.empty else [_BLANK]) + [_title(title, started)]
        if p.fits(lead + body):
            p.push(lead + body)
        else:
            p.flush()
            lead = [_title(title, started)]
            if p.fits(lead + body):
                p.push(lead + body)
            else:
                _pack_long_block(p, title, block)
        titled = started = True


def _pack_long_block(p: _Packer, title: str, block: Block) -> None:
    """A block too long for a message of its own: cut between its lines."""
    p.push([_title(title, True)])
    for line in block.lines:
        rendered = render_line(line)
        if not p.fits([rendered]):
            p.flush()
            head = _title(title, True)
            p.push([head])
            if not p.fits([rendered]):
                rendered = _shrink(line, p.budget - head.units - 1)
        p.push([rendered])


def render_telegram(digest: Digest, tz: tzinfo, *, limit: int = LIMIT,
                    headroom: int = HEADROOM, max_entities: int = MAX_ENTITIES) -> list[str]:
    """The digest as one or more HTML messages for ``parse_mode='html'``, in order."""
    lay = layout(digest, tz)
    packer = _Packer(limit - headroom, max_entities)
    packer.push([render_line(line) for line in lay.head])
    for section in lay.sections:
        _pack_section(packer, section.title, section.blocks)
    packer.flush()
    return packer.messages


def chart_caption(digest: Digest, tz: tzinfo) -> str:
    """The chart photo's caption (HTML, well within the 1024-unit caption limit)."""
    return escape(f"Posts per hour, {fmt_period(digest.period, tz)}", quote=False)
