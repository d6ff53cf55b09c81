"""The digest as plain text for a terminal: each line ends with the links it cites."""

from __future__ import annotations

from datetime import tzinfo

from bot.digest.layout import Line, layout
from bot.digest.model import Digest

INDENT = "  "


def text_line(line: Line) -> str:
    text = "".join(s.text for s in line)
    urls = [s.url for s in line if s.url]
    return text + ("  " + " ".join(urls) if urls else "")


def render_text(digest: Digest, tz: tzinfo, year: int | None = None) -> str:
    """``year``: the current year, left out of item dates (default: the period's)."""
    lay = layout(digest, tz, year)
    out = [text_line(line) for line in lay.head]
    for section in lay.sections:
        out += ["", f"== {section.title} =="]
        for block in section.blocks:
            first, *rest = block.lines
            out.append(text_line(first))
            out += [INDENT + text_line(line) for line in rest]
    return "\n".join(out) + "\n"
