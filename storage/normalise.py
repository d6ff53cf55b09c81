"""The one normalisation that rules, ``/test`` and full-text search read text through.

Stored text never changes: only what matching and search read is normalised, and
:class:`Offsets` leads every character of the normalised text back to the characters of
the original it came from, so highlights land on the text as it was written.

- Invisible characters are dropped: format characters (soft hyphen, zero-width space,
  joiner and non-joiner, word joiner, BOM, direction marks), variation selectors and
  the combining grapheme joiner.
- Letters and digits in compatibility forms become plain ones (their NFKC form):
  mathematical alphanumerics (𝐊𝐮𝐫𝐬𝐤), fullwidth (Ｋｕｒｓｋ), ligatures (ﬁ),
  superscripts (м²). Symbols NFKC would spell out (№, ™, …) stay, as does a letter
  shown as an emoji (ℹ️).
- Combining marks on Cyrillic letters are dropped after decomposition (stress marks,
  accents), except those that make й, ё, ї and ў. On Latin and other letters they are
  composed (NFC): romanizations need their š and ë.
- A word that mixes Latin and Cyrillic letters is read in the script most of its letters
  are in (Cyrillic on a tie): its look-alike letters of the other script are replaced.
  A word in one script stays as it is (``cross`` stays English, ``Kursk`` Latin).

It lives in ``storage`` because the full-text index (here) and the rules (``bot.rules``)
must read the same form, and ``storage`` imports nothing from ``bot``. Most text needs
none of this: one cheap scan (:func:`needs_normalising`) lets it through untouched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Latin and Cyrillic letters that look alike (lowercase, then capitals), the lowercase
# ones also standing for the capitals they fold from (k for К, m for М, ...).
_LATIN_LOOKALIKES = "aceopxykmthbiACEOPXYKMTHBI"
_CYRILLIC_LOOKALIKES = "асеорхукмтнвіАСЕОРХУКМТНВІ"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
# Cyrillic letters whose combining mark is part of the letter, not an accent on it.
_KEEP_MARKED = frozenset("йЙёЁїЇўЎ")

_VS16 = "\ufe0f"         # "show the character before as an emoji"
_IN_EMOJI = "\u200d\ufe0f"  # the joiner and VS16, in emoji sequences more than in words
_LATIN, _CYRILLIC = 1, 2
_APOSTROPHES = "'’`ʼ"    # one between two letters is part of a word: м'ясо, мʼясо
_LATIN_RANGE = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_CYRILLIC_RANGE = "\u0400-\u052f"

# SQLite function the full-text index is built with (storage/db.py registers it).
SEARCH_FUNCTION = "tgmon_search_text"


@dataclass(frozen=True, slots=True)
class Offsets:
    """Where each character of a normalised text came from in the original."""

    starts: tuple[int, ...]   # original start of normalised character i
    ends: tuple[int, ...]     # original end (exclusive) of normalised character i
    length: int               # of the original

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span ``[start, end)``: every character any
        of its characters came from (with the marks and invisibles they carried)."""
        if start >= len(self.starts):
            return self.length, self.length
        if end <= start:
            return self.starts[start], self.starts[start]
        return self.starts[start], self.ends[end - 1]


def _is_ignorable(c: str, category: str) -> bool:
    return (category == "Cf" or c == "\u034f" or "\ufe00" <= c <= "\ufe0f"
            or "\U000e0100" <= c <= "\U000e01ef")


def _folds_compat(c: str, category: str) -> bool:
    return category[0] in "LN" and unicodedata.normalize("NFKC", c) != c


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The scans that together find every text that normalising would change (and a
    few more). Built on first use from the Unicode database Python ships (~50 ms)."""
    special: list[int] = []
    for cp in range(0x80, 0x10000):
        c = chr(cp)
        if c in _IN_EMOJI:
            continue        # in emoji sequences all the time: see ``joined`` below
        category = unicodedata.category(c)
        if (category in ("Mn", "Me") or _is_ignorable(c, category)
                or _folds_compat(c, category)
                or ("\u0400" <= c <= "\u052f" and c not in _KEEP_MARKED
                    and unicodedata.normalize("NFD", c) != c)):
            special.append(cp)
    ranges: list[str] = []
    first = last = special[0]
    for cp in [*special[1:], -1]:
        if cp == last + 1:
            last = cp
            continue
        ranges.append(re.escape(chr(first)) if first == last
                      else f"{re.escape(chr(first))}-{re.escape(chr(last))}")
        first = last = cp
    return (
        re.compile(f"[{''.join(ranges)}]"),
        re.compile(f"[{_IN_EMOJI}](?<=\\w.)"),
        re.compile(f"[{_LATIN_RANGE}](?:(?<=[{_CYRILLIC_RANGE}].)|(?<=[{_CYRILLIC_RANGE}]"
                   f"[{_APOSTROPHES}].)|(?=[{_APOSTROPHES}]?[{_CYRILLIC_RANGE}]))"),
        # Beyond the BMP, a rough superset: historic scripts' marks, mathematical
        # letters, compatibility ideographs, tags and variation selectors (emoji, above
        # 1F000, are not in it).
        re.compile("[\U00010000-\U0001efff\U0002f800-\U0002fa1f\U000e0000-\U000e0fff]"),
    )


def needs_normalising(text: str) -> bool:
    """False for text normalising leaves as it is (almost all text): ASCII, or without
    combining marks, invisible characters, compatibility forms or mixed-script words.
    A few microseconds for a post: each scan runs in C."""
    if text.isascii():
        return False
    special, joined, mixed, astral = _patterns()
    if special.search(text) or mixed.search(text):
        return True
    if ("\u200d" in text or _VS16 in text) and joined.search(text):
        return True
    # Scanning for characters beyond the BMP is slow: only texts that have some (an
    # emoji, usually: UTF-16 needs two units for each) are scanned.
    return (len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)
            and astral.search(text) is not None)


def normalise(text: str) -> str:
    """The normalised text (see the module's docstring)."""
    return _normalise(text)[0] if needs_normalising(text) else text


def normalise_mapped(text: str) -> tuple[str, Offsets | None]:
    """The normalised text and, when it differs from ``text``, its :class:`Offsets`."""
    if not needs_normalising(text):
        return text, None
    return _normalise(text)


def search_text(text: str) -> str:
    """What the full-text index holds for a text, and what searches are read as: the
    normalised text with ё written е (FTS5's unicode61 tokenizer folds case only)."""
    return normalise(text).replace("ё", "е").replace("Ё", "Е")


_IGNORE, _MARK, _BASE = 0, 1, 2
_kinds: dict[str, tuple[int, str, bool]] = {}


def _kind(c: str) -> tuple[int, str, bool]:
    """``(kind, decomposed, compat)`` of a character: whether it is dropped, a mark or
    a base, and a base's decomposition (NFKD for compatibility letters, NFD otherwise)."""
    found = _kinds.get(c)
    if found is None:
        category = unicodedata.category(c)
        if _is_ignorable(c, category):
            found = (_IGNORE, "", False)
        elif category in ("Mn", "Me"):
            found = (_MARK, "", False)
        elif _folds_compat(c, category):
            found = (_BASE, unicodedata.normalize("NFKD", c), True)
        else:
            found = (_BASE, unicodedata.normalize("NFD", c), False)
        if len(_kinds) < 10_000:
            _kinds[c] = found
    return found


def _after_word(bases: list[str]) -> bool:
    """Whether what comes next follows a word character (``\\w`` of :mod:`re`)."""
    return bool(bases) and (bases[-1].isalnum() or bases[-1] == "_")


def _is_letter(c: str) -> bool:
    return c.isalpha() and c not in _APOSTROPHES


def _script(c: str) -> int:
    if "\u0400" <= c <= "\u052f":
        return _CYRILLIC
    if c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff":
        return _LATIN if c.isalpha() else 0
    return 0


def _normalise(text: str) -> tuple[str, Offsets]:
    # 1. Each character becomes base letters, each with the marks that follow it and
    #    the span of the original it stands for; invisibles only widen that span.
    bases: list[str] = []
    marks: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    emoji = False           # the last base is a letter shown as an emoji (ℹ️)
    for i, c in enumerate(text):
        kind, decomposed, compat = _kind(c)
        if kind == _IGNORE and c in _IN_EMOJI and (emoji or not _after_word(bases)):
            kind, decomposed = _BASE, c   # part of an emoji, not inside a word: kept
        if kind == _IGNORE:
            if ends:
                ends[-1] = i + 1
            continue
        if kind == _MARK:
            if ends:
                marks[-1] += c
                ends[-1] = i + 1
            continue
        emoji = compat and text[i + 1:i + 2] == _VS16
        if emoji:
            decomposed = c          # ℹ️ is an emoji, not the letter i
        for d in decomposed:
            if bases and unicodedata.combining(d):
                marks[-1] += d
            else:
                bases.append(d)
                marks.append("")
                starts.append(i)
                ends.append(i + 1)
    # 2. A word (letters, an apostrophe between two) of letters of both scripts is read
    #    in the script of most of them.
    n = len(bases)
    i = 0
    while i < n:
        if not _is_letter(bases[i]):
            i += 1
            continue
        j, counts = i, [0, 0, 0]
        while j < n and (_is_letter(bases[j]) or (
                bases[j] in _APOSTROPHES and j + 1 < n and _is_letter(bases[j + 1]))):
            counts[_script(bases[j])] += 1
            j += 1
        if counts[_LATIN] and counts[_CYRILLIC]:
            table = _TO_CYRILLIC if counts[_CYRILLIC] >= counts[_LATIN] else _TO_LATIN
            bases[i:j] = [b.translate(table) for b in bases[i:j]]
        i = j
    # 3. Marks: dropped from Cyrillic letters (but й, ё, ї, ў) and from what is not a
    #    letter, composed onto other letters.
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    for base, mark, start, end in zip(bases, marks, starts, ends, strict=True):
        if mark:
            if _script(base) == _CYRILLIC:
                kept = unicodedata.normalize("NFC", base + mark[0])
                if kept in _KEEP_MARKED:
                    base = kept
            elif base.isalpha():
                base = unicodedata.normalize("NFC", base + mark)
        out.append(base)
        out_starts.extend([start] * len(base))
        out_ends.extend([end] * len(base))
    return "".join(out), Offsets(tuple(out_starts), tuple(out_ends), len(text))
