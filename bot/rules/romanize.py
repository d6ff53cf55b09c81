"""Romanized skeletons: how a rule written in Latin letters finds Cyrillic words.

Romanization schemes disagree (Тёткино is Tyotkino, Tëtkino, Tetkino, Tjotkino; Харків
is Kharkiv, Charkiv, Harkiv; й is y, i or j), so both sides are folded to a lossy
*skeleton* in which the spellings of one Cyrillic letter coincide:

- a Cyrillic word has exactly one skeleton (letter by letter, see ``_CYRILLIC``);
- a Latin word has a few (``latin_skeletons``): where a Latin spelling could stand for
  different Cyrillic letters (``h`` is х, or г in Ukrainian; ``x`` is х or кс; ``yo``
  is ё or йо) each reading is kept.

In the skeleton ж, х, ц, ч and ш/щ are the capitals Z, H, C, Q and S (so the Latin
``zh`` and ``z h`` do not meet); й, и, ы, і and ї are all ``i``; е, ё, є and э are all
``e``; я and ю are ``ia`` and ``iu``; soft and hard signs and apostrophes vanish; and
runs of one letter collapse (``ий``, ``iy``, ``ss``).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e",
    "є": "e", "ж": "Z", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ў": "u", "ф": "f", "х": "H", "ц": "C", "ч": "Q", "ш": "S", "щ": "S",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia", "'": "",
}

# Latin spellings, longest first; each maps to the skeleton pieces it may stand for.
_LATIN_CLUSTERS: dict[str, tuple[str, ...]] = {
    "shch": ("S",), "tsch": ("Q",),
    "sch": ("S",), "tch": ("Q",),
    "zh": ("Z",), "kh": ("H",), "ch": ("Q",), "sh": ("S",), "ts": ("C", "ts"), "tz": ("C",),
    "ya": ("ia",), "ja": ("ia",), "ia": ("ia",),
    "yu": ("iu",), "ju": ("iu",), "iu": ("iu",),
    "yo": ("io", "e"), "jo": ("io", "e"), "io": ("io", "e"),     # ё, or й/и + о
    "ye": ("ie", "e"), "je": ("ie", "e"), "ie": ("ie", "e"),     # е/є, or й/и/ы + е
    "x": ("H", "ks"), "h": ("H", "g"), "c": ("C", "k"), "w": ("v",),
    "y": ("i",), "j": ("i",),
}
_MAX_CLUSTER = max(len(k) for k in _LATIN_CLUSTERS)
# After ж, ш, ч, щ, ц an ё is often written plain o (Gorbachov for Горбачёв).
_SIBILANTS = frozenset("ZSQC")

# Diacritics of the scholarly, ISO 9 and Ukrainian schemes, spelled out first.
_DIACRITICS = str.maketrans({
    "ž": "zh", "š": "sh", "č": "ch", "ŝ": "shch", "ë": "yo", "ê": "ye", "ï": "yi",
    "ĭ": "y", "û": "yu", "â": "ya", "ǎ": "ya", "ė": "e", "è": "e", "é": "e",
    "'": "", "’": "", "ʼ": "", "ʹ": "", "ʺ": "", '"': "", "`": "",
})
_RUNS = re.compile(r"(.)\1+")

MAX_VARIANTS = 64   # a Latin word with more readings keeps the first reading of the rest


def _collapse(s: str) -> str:
    return _RUNS.sub(r"\1", s)


@lru_cache(maxsize=50_000)
def cyrillic_skeleton(form: str) -> str:
    """The skeleton of a lowercase Cyrillic word."""
    return _collapse("".join(_CYRILLIC.get(c, c) for c in form))


def _latin_pieces(word: str) -> list[tuple[str, ...]]:
    w = unicodedata.normalize("NFD", word.lower().translate(_DIACRITICS))
    w = "".join(c for c in w if not unicodedata.combining(c))
    pieces: list[tuple[str, ...]] = []
    i = 0
    while i < len(w):
        for size in range(min(_MAX_CLUSTER, len(w) - i), 0, -1):
            options = _LATIN_CLUSTERS.get(w[i:i + size])
            if options is not None:
                break
        else:
            size, options = 1, (w[i],)
        if w[i] == "o" and size == 1 and pieces and pieces[-1][0][-1:] in _SIBILANTS:
            options = ("o", "e")
        pieces.append(options)
        i += size
    return pieces


def latin_skeletons(word: str) -> frozenset[str]:
    """Every skeleton a Latin-spelled word may stand for (at most ``MAX_VARIANTS``)."""
    pieces = _latin_pieces(word)
    readings = 1
    bounded: list[tuple[str, ...]] = []
    for options in pieces:
        if readings * len(options) > MAX_VARIANTS:
            options = options[:1]
        readings *= len(options)
        bounded.append(options)
    return frozenset(_collapse("".join(p)) for p in itertools.product(*bounded))
