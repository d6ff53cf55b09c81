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
none of this: a few cheap scans (:func:`needs_normalising`) let it through untouched.

The full-text index holds :func:`search_text` of every post, and its edit trigger removes
a post's old words by normalising the old text again: the index must be rebuilt whenever
what this module does changes. ``storage.db`` does that on open when :func:`search_version`
differs from the one the index was built with: raise :data:`VERSION` with any change.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import re2

from storage import unicode_tables

# Latin and Cyrillic letters that look alike (lowercase, then capitals), the lowercase
# ones also standing for the capitals they fold from (k for К, m for М, ...).
_LATIN_LOOKALIKES = "aceopxykmthbiACEOPXYKMTHBI"
_CYRILLIC_LOOKALIKES = "асеорхукмтнвіАСЕОРХУКМТНВІ"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES + "ёЁїЇ", _LATIN_LOOKALIKES + "ëËïÏ")
_YO = str.maketrans("ёЁ", "еЕ")
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
# Raise it whenever what this module does changes: a database whose index was built by
# another version (or another Unicode database: a Python upgrade) is re-indexed on open.
VERSION = 1


def search_version() -> str:
    """What the full-text index was built with: this module's version and Python's
    Unicode database."""
    return f"{VERSION} unicode {unicodedata.unidata_version}"


@dataclass(frozen=True, slots=True)
class Offsets:
    """Where each character of a normalised text came from in the original."""

    starts: tuple[int, ...]   # where in the original normalised character i begins
    length: int               # of the original

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span ``[start, end)``: every character any
        of its characters came from, with the marks and invisibles that follow them."""
        starts = self.starts
        if start >= len(starts):
            return self.length, self.length
        if end <= start:
            return starts[start], starts[start]
        after = bisect_right(starts, starts[end - 1])
        return starts[start], starts[after] if after < len(starts) else self.length


def _is_ignorable(c: str, category: str) -> bool:
    return (category == "Cf" or c == "\u034f" or "\ufe00" <= c <= "\ufe0f"
            or "\U000e0100" <= c <= "\U000e01ef")


def _folds_compat(c: str, category: str) -> bool:
    return category[0] in "LN" and unicodedata.normalize("NFKC", c) != c


# Beyond the BMP, a rough superset of what needs work: historic scripts' marks,
# mathematical letters, compatibility ideographs, tags and variation selectors (emoji,
# above 1F000, are not in it).
_ASTRAL = "\U00010000-\U0001efff\U0002f800-\U0002fa1f\U000e0000-\U000e0fff"
_ASTRAL_RANGES = ((0x10000, 0x1EFFF), (0x2F800, 0x2FA1F), (0xE0000, 0xE0FFF))
# Where an emoji's joiner or VS16 usually follows a symbol, not a word character.
_SYMBOL_BLOCKS = ((0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE00, 0xFE0F), (0x1F000, 0x1FAFF))

Ranges = tuple[tuple[int, int], ...]


def _ranges(code_points: Iterable[int]) -> Ranges:
    out: list[list[int]] = []
    for cp in code_points:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return tuple((a, b) for a, b in out)


def compute_tables() -> tuple[Ranges, Ranges, Ranges]:
    """``(special, other, symbols)`` from the Unicode database Python ships (~150 ms):
    characters that always need work; those that may (ó, ѐ, the emoji joiners); and
    the characters of :data:`_SYMBOL_BLOCKS` that are not word characters.
    ``storage/unicode_tables.py`` holds them for one Unicode version (a test compares)."""
    special: list[int] = []
    other: list[int] = []
    for cp in range(0x80, 0x10000):
        c = chr(cp)
        category = unicodedata.category(c)
        if c not in _IN_EMOJI and (
                category in ("Mn", "Me") or _is_ignorable(c, category)
                or _folds_compat(c, category)
                or ("\u0400" <= c <= "\u052f" and c not in _KEEP_MARKED
                    and unicodedata.normalize("NFD", c) != c)):
            special.append(cp)
        elif c in _IN_EMOJI or (c not in _KEEP_MARKED and unicodedata.normalize("NFD", c) != c):
            other.append(cp)
    word = re.compile(r"\w")
    symbols = [cp for lo, hi in _SYMBOL_BLOCKS for cp in range(lo, hi + 1)
               if not word.fullmatch(chr(cp))]
    return _ranges(special), _ranges(other), _ranges(symbols)


def tables_source() -> str:
    """The text of ``storage/unicode_tables.py`` for this Python's Unicode database."""
    special, other, symbols = compute_tables()

    def block(name: str, ranges: Ranges) -> str:
        rows = [", ".join(f"(0x{a:04X}, 0x{b:04X})" for a, b in ranges[i:i + 5])
                for i in range(0, len(ranges), 5)]
        return f"{name}: Ranges = (\n" + "".join(f"    {r},\n" for r in rows) + ")\n"

    return ('"""Generated by storage.normalise.tables_source(): the character tables of\n'
            'storage.normalise for one Unicode database, so that a command does not build\n'
            'them at start. Regenerate when tests/test_normalise_tables.py says so."""\n\n'
            "Ranges = tuple[tuple[int, int], ...]\n\n"
            f"UNIDATA_VERSION = {unicodedata.unidata_version!r}\nVERSION = {VERSION}\n\n"
            + block("SPECIAL", special) + "\n" + block("OTHER", other) + "\n"
            + block("SYMBOLS", symbols))


def _union(a: Ranges, b: Ranges) -> Ranges:
    return _ranges(sorted({cp for lo, hi in (*a, *b) for cp in range(lo, hi + 1)}))


def _tables() -> tuple[Ranges, Ranges, Ranges]:
    here = (unicodedata.unidata_version, VERSION)
    if here == (unicode_tables.UNIDATA_VERSION, unicode_tables.VERSION):
        return unicode_tables.SPECIAL, unicode_tables.OTHER, unicode_tables.SYMBOLS
    return compute_tables()


def _char_class(ranges: Ranges) -> str:
    """The inside of a Python regex character class holding these code points."""
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in ranges)


def _re2_class(ranges: Ranges) -> str:
    return "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}"
                   for a, b in ranges)


class _Scans(NamedTuple):
    special: re.Pattern[str]   # a character that always needs work
    joined: re.Pattern[str]    # a joiner or VS16 after a word character
    mixed: re.Pattern[str]     # a Latin letter next to a Cyrillic one (an apostrophe between)
    astral: re.Pattern[str]    # a character beyond the BMP that may need work
    plain: re.Pattern[str]     # a run of characters that are their own normal form
    maybe: Any                 # RE2 over UTF-8: something above may be there (a superset)


@cache
def maybe_pattern() -> str:
    """RE2 syntax: a place where a text may need normalising. Every text
    :func:`needs_normalising` is true of has one; a text without one needs nothing.
    None spans a newline."""
    special, _, symbols = _tables()
    latin = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF))
    lat, cyr, apo = (f"[{_re2_class(r)}]" for r in (
        latin, ((0x400, 0x52F),), _ranges(sorted(map(ord, _APOSTROPHES)))))
    return (f"[{_re2_class(special)}]|{lat}{apo}?{cyr}|{cyr}{apo}?{lat}"
            f"|[{_re2_class(_ASTRAL_RANGES)}]|[^{_re2_class(symbols)}][\\x{{200d}}\\x{{fe0f}}]")


@cache
def _scans() -> _Scans:
    special, other, _ = _tables()
    options = re2.Options()
    options.max_mem = 1 << 24
    maybe = re2.compile(maybe_pattern(), options)
    return _Scans(
        re.compile(f"[{_char_class(special)}]"),
        re.compile(f"[{_IN_EMOJI}](?<=\\w.)"),
        re.compile(f"[{_LATIN_RANGE}](?:(?<=[{_CYRILLIC_RANGE}].)|(?<=[{_CYRILLIC_RANGE}]"
                   f"[{_APOSTROPHES}].)|(?=[{_APOSTROPHES}]?[{_CYRILLIC_RANGE}]))"),
        re.compile(f"[{_ASTRAL}]"),
        re.compile(f"[^{_char_class(_union(special, other))}{_ASTRAL}]+"),
        maybe,
    )


def needs_normalising(text: str) -> bool:
    """False for text normalising leaves as it is (almost all text): ASCII, or without
    combining marks, invisible characters, compatibility forms or mixed-script words.
    A few microseconds for a post: one RE2 scan of its UTF-8 rules out almost all text,
    the exact checks (each scan in C) run on what is left."""
    if text.isascii():
        return False
    scans = _scans()
    if scans.maybe.search(text.encode()) is None:
        return False
    if scans.special.search(text) or scans.mixed.search(text):
        return True
    if ("\u200d" in text or _VS16 in text) and scans.joined.search(text):
        return True
    # Scanning for characters beyond the BMP is slow: only texts that have some (an
    # emoji, usually: UTF-16 needs two units for each) are scanned.
    return (len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)
            and scans.astral.search(text) is not None)


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
    text = normalise(text)
    return text.translate(_YO) if "ё" in text or "Ё" in text else text


# A word as the script rule sees it: letters, one apostrophe between two of them.
_LETTER = f"(?:(?![{_APOSTROPHES}])[^\\W\\d_])"
_WORD_RUN = re.compile(f"{_LETTER}+(?:[{_APOSTROPHES}]{_LETTER}+)*")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_CYRILLIC_CHAR = re.compile(f"[{_CYRILLIC_RANGE}]")

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


def _is_letter(c: str) -> bool:
    return c.isalpha() and c not in _APOSTROPHES


def _script(c: str) -> int:
    if "\u0400" <= c <= "\u052f":
        return _CYRILLIC
    if c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff":
        return _LATIN if c.isalpha() else 0
    return 0


def _normalise(text: str) -> tuple[str, Offsets]:
    scans = _scans()
    # 1. The text as base characters, each with where it begins in the original and
    #    the marks that follow it; runs that are their own normal form are copied.
    chars: list[str] = []
    starts: list[int] = []
    marks: dict[int, str] = {}
    emoji = False           # the last base is a letter shown as an emoji (ℹ️)
    i, n = 0, len(text)
    while i < n:
        run = scans.plain.match(text, i)
        if run is not None:
            chars += run.group()
            starts += range(i, run.end())
            i = run.end()
            emoji = False
            continue
        c = text[i]
        kind, decomposed, compat = _kind(c)
        if kind == _IGNORE and c in _IN_EMOJI and (
                emoji or not (chars and (chars[-1].isalnum() or chars[-1] == "_"))):
            kind, decomposed = _BASE, c   # part of an emoji, not inside a word: kept
        if kind == _MARK:
            if chars:
                marks[len(chars) - 1] = marks.get(len(chars) - 1, "") + c
        elif kind == _BASE:
            emoji = compat and text[i + 1:i + 2] == _VS16
            if emoji:
                decomposed = c      # ℹ️ is an emoji, not the letter i
            for d in decomposed:
                if chars and unicodedata.combining(d):
                    marks[len(chars) - 1] = marks.get(len(chars) - 1, "") + d
                else:
                    chars.append(d)
                    starts.append(i)
        i += 1          # an ignorable character is dropped: it ends up in the span before
    # 2. A word (letters, an apostrophe between two) of letters of both scripts is read
    #    in the script of most of them.
    joined = "".join(chars)
    done = 0
    backwards = ""
    for hit in scans.mixed.finditer(joined):
        at = hit.start()
        if at < done or not _is_letter(chars[at]):
            continue
        backwards = backwards or joined[::-1]
        before = _WORD_RUN.match(backwards, len(joined) - 1 - at)
        after = _WORD_RUN.match(joined, at)
        if before is None or after is None:
            continue
        first, done = len(joined) - before.end(), after.end()
        word = joined[first:done]
        latin, cyrillic = len(_LATIN_LETTER.findall(word)), len(_CYRILLIC_CHAR.findall(word))
        if latin and cyrillic:
            table = _TO_CYRILLIC if cyrillic >= latin else _TO_LATIN
            chars[first:done] = list(word.translate(table))
    # 3. Marks: dropped from Cyrillic letters (but й, ё, ї, ў) and from what is not a
    #    letter, composed onto other letters.
    grown = False
    for at, mark in marks.items():
        base = chars[at]
        if _script(base) == _CYRILLIC:
            kept = unicodedata.normalize("NFC", base + mark[0])
            if kept in _KEEP_MARKED:
                chars[at] = kept
        elif base.isalpha():
            chars[at] = unicodedata.normalize("NFC", base + mark)
            grown = grown or len(chars[at]) > 1
    if grown:       # a mark no letter composes with stays as a character of its own
        starts = [start for c, start in zip(chars, starts, strict=True) for _ in c]
    return "".join(chars), Offsets(tuple(starts), len(text))
