"""Parse and show byte sizes such as ``100MB``, ``1.5GB``, ``512KB`` (media settings)."""

from __future__ import annotations

import re

# Binary units, as disks and Telegram's limits count (1 MB = 1,048,576 bytes).
_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "k": 1 << 10, "mb": 1 << 20, "m": 1 << 20,
          "gb": 1 << 30, "g": 1 << 30, "tb": 1 << 40, "t": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_size(text: str) -> int:
    """``"100MB"`` -> 104857600 bytes; a bare number is bytes. Raises ValueError."""
    s = text.strip().lower().replace(" ", "").removesuffix("ib").replace("ib", "b")
    m = _SIZE.fullmatch(s)
    if m is None or m.group(2) not in _UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 500KB, 100MB, 2GB)")
    value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value <= 0:
        raise ValueError(f"a size must be more than 0 bytes, got {text!r}")
    return value


def format_size(n: int) -> str:
    """The inverse of :func:`parse_size` for settings: the largest unit that divides
    ``n`` exactly (``104857600`` -> ``100MB``)."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def human_size(n: int) -> str:
    """For people: ``1.5 GB``, ``340.2 KB``, ``12 B``."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
