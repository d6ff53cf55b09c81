"""The digest's picture: posts per hour per channel over the period, as PNG bytes.

A heat map (one row per channel, the busiest first; one column per hour) under a bar
chart of all posts per hour, with the hours in the reader's time zone. Drawn with
matplotlib's Agg canvas directly, without pyplot: no display, no global backend switch,
no state shared between calls. matplotlib is imported on first use, not with tgmon.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Sequence
from datetime import datetime, tzinfo
from functools import lru_cache

from bot.digest.build import channel_label
from bot.digest.layout import fmt_period
from bot.digest.model import Digest

MAX_ROWS = 40             # more channels than this share an "others" row
LABEL_WIDTH = 28
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=1)
def _font_chars() -> frozenset[int]:
    """Code points the default font can draw (titles may hold emoji it has not)."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties(family=rcParams["font.family"])))
    return frozenset(font.get_charmap())


def _label(text: str) -> str:
    chars = _font_chars()
    drawable = "".join(ch for ch in text if ord(ch) in chars).strip()
    if len(drawable) > LABEL_WIDTH:
        drawable = drawable[:LABEL_WIDTH - 1].rstrip() + "…"
    return drawable or "?"


def _ticks(hours: Sequence[datetime], tz: tzinfo) -> tuple[list[int], list[str]]:
    n = len(hours)
    step = 3 if n <= 36 else 12 if n <= 96 else 24
    positions, labels = [], []
    for i, h in enumerate(hours):
        local = h.astimezone(tz)
        if local.hour % step:
            continue
        positions.append(i)
        day = f"{local.day} {_MONTHS[local.month - 1]}"
        if step == 24:
            labels.append(day)
        elif local.hour == 0 or not labels:     # the date under the first tick of each day
            labels.append(f"{local:%H:%M}\n{day}")
        else:
            labels.append(f"{local:%H:%M}")
    return positions, labels


def render_chart(digest: Digest, tz: tzinfo, *, max_rows: int = MAX_ROWS,
                 dpi: int = 100) -> bytes:
    """PNG bytes of the chart; an empty period still gives a (labelled, empty) chart."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import PowerNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    hours = digest.hours
    rows = list(digest.activity)
    labels = [_label(channel_label(r.channel)) for r in rows]
    matrix = np.array([r.counts for r in rows], dtype=float).reshape(len(rows), len(hours))
    if len(rows) > max_rows:
        others = matrix[max_rows - 1:].sum(axis=0, keepdims=True)
        matrix = np.vstack([matrix[:max_rows - 1], others])
        labels = [*labels[:max_rows - 1], f"{len(rows) - max_rows + 1} others"]
    n_rows = max(len(labels), 1)

    # Fixed margins in inches (labels are at most LABEL_WIDTH characters): a layout
    # engine would draw the whole figure twice.
    bars_h, heat_h, gap = 1.3, max(0.26 * n_rows, 0.8), 0.45
    left, right, top, bottom = 2.2, 0.25, 0.5, 0.75
    width, height = 11.0, top + bars_h + gap + heat_h + bottom
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[bars_h, heat_h], left=left / width,
                            right=1 - right / width, top=1 - top / height,
                            bottom=bottom / height, hspace=gap / ((bars_h + heat_h) / 2))
    bars = fig.add_subplot(grid[0])
    heat = fig.add_subplot(grid[1])
    fig.suptitle(f"Posts per hour, {fmt_period(digest.period, tz)}", fontsize=11,
                 y=1 - 0.15 / height)

    totals = matrix.sum(axis=0) if len(labels) else np.zeros(len(hours))
    bars.bar(np.arange(len(hours)), totals, width=0.85, color="#3b6ea8")
    # Axis titles placed by hand: matplotlib would measure every tick label to place them.
    fig.text((left - 0.62) / width, 1 - (top + bars_h / 2) / height, "all channels", fontsize=8,
             rotation=90, ha="center", va="center")
    bars.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    bars.tick_params(bottom=False, labelbottom=False, labelsize=8)
    bars.set_xlim(-0.5, len(hours) - 0.5)
    bars.set_ylim(0, max(1.0, float(totals.max()) if len(hours) else 1.0) * 1.1)
    bars.grid(axis="y", alpha=0.3)

    if len(labels):
        peak = max(1.0, float(matrix.max()))
        # One quad per cell (pcolormesh), not a resampled image (imshow): a few thousand
        # cells cost far less memory than an image interpolated to the figure's pixels.
        # A square-root colour scale: one very busy channel does not wash out the rest.
        heat.pcolormesh(np.arange(len(hours) + 1) - 0.5, np.arange(len(labels) + 1) - 0.5,
                        matrix, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=peak))
        heat.invert_yaxis()
        # Channel names as plain text beside the rows: ticks (two lines, two labels and a
        # grid line each) would cost more to build than the whole heat map.
        heat.set_yticks([])
        beside = heat.get_yaxis_transform()
        for i, label in enumerate(labels):
            heat.text(-0.01, i, label, fontsize=8, ha="right", va="center",
                      transform=beside)
        heat.set_title(f"per channel (darkest: {int(peak)} "
                       f"post{'' if peak == 1 else 's'} in an hour)", fontsize=9, loc="left")
    else:
        heat.set_yticks([])
        heat.text(0.5, 0.5, "No posts in this period", transform=heat.transAxes,
                  ha="center", va="center", fontsize=11, color="#57606a")
    positions, tick_labels = _ticks(hours, tz)
    heat.set_xticks(positions, labels=tick_labels, fontsize=8)
    heat.set_xlim(-0.5, len(hours) - 0.5)
    fig.text(left / width + (1 - (left + right) / width) / 2, 0.2 / height,
             f"hour ({getattr(tz, 'key', None) or tz})", fontsize=8, ha="center",
             va="bottom")

    buf = io.BytesIO()
    # No "Software" text chunk: the bytes depend on the data, not on the library version.
    fig.savefig(buf, format="png", metadata={"Software": None})
    # A figure is a web of reference cycles: without a collection each chart's ~6 MB
    # waits for the next full garbage collection, and a scheduler draws one chart per
    # subscriber in a row.
    fig.clear()
    gc.collect()
    return buf.getvalue()
