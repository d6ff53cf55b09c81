"""The digest as a standalone HTML page, the chart embedded as a ``data:`` URI."""

from __future__ import annotations

import base64
from datetime import tzinfo
from html import escape

from bot.digest.layout import Line, Span, fmt_period, layout
from bot.digest.model import Digest

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #1b1f23; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; margin: 0.1em 0; }
.block { margin: 0.5em 0; }
.block .line + .line { margin-left: 1.2em; }
.chart img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
"""


def _span(span: Span) -> str:
    html = escape(span.text)
    if span.url:
        html = f'<a href="{escape(span.url)}">{html}</a>'
    if span.style == "b":
        html = f"<strong>{html}</strong>"
    elif span.style == "i":
        html = f"<em>{html}</em>"
    return html


def _line(line: Line) -> str:
    return "".join(_span(s) for s in line)


def render_html_page(digest: Digest, tz: tzinfo, chart_png: bytes | None = None,
                     year: int | None = None) -> str:
    lay = layout(digest, tz, year)
    title = f"tgmon digest, {fmt_period(digest.period, tz)}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_line(lay.head[0])}</h1>",
    ]
    out += [f'<p class="meta">{_line(line)}</p>' for line in lay.head[1:]]
    if chart_png is not None:
        data = base64.b64encode(chart_png).decode("ascii")
        out.append(f'<figure class="chart"><img src="data:image/png;base64,{data}" '
                   f'alt="{escape("Posts per hour per channel")}"></figure>')
    for section in lay.sections:
        out.append(f"<section><h2>{escape(section.title)}</h2>")
        for block in section.blocks:
            lines = "".join(f'<div class="line">{_line(line)}</div>' for line in block.lines)
            out.append(f'<div class="block">{lines}</div>')
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
