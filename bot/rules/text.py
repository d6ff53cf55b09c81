"""Words of a text: where they are, and their folded forms.

Offsets are Python string indices (code points) into the original text, so a caller
can slice the text with them. Folding lowercases, writes ё as е and unifies the
apostrophes Ukrainian words contain; it never changes a word's length in the text,
because spans point into the unfolded text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A word: letters and digits, with combining marks (a decomposed й) and apostrophes
# between letters (Ukrainian м'ясо, English don't). Hyphens and underscores split words:
# "Санкт-Петербург" is two words, which a rule matches as two adjacent words.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+(?:['’ʼ`](?:[^\W_]|[\u0300-\u036f])+)*")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'"})
_YO = str.maketrans({"ё": "е", "Ё": "Е"})

_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўјђћџѓќљњѕ")
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
# Latin letters that look like Cyrillic ones: a word that mixes the two scripts
# ("Kурск" with a Latin K, a trick to dodge filters) is read as Cyrillic.
_HOMOGLYPHS = str.maketrans("aceopxykmthbi", "асеорхукмтнві")
RU_ONLY = frozenset("ыэъё")
UK_ONLY = frozenset("іїєґ")


@dataclass(frozen=True, slots=True)
class Word:
    start: int      # offset of the first character in the text
    end: int        # offset just past the last character
    form: str       # folded: lowercase, ё -> е, one kind of apostrophe


def fold_yo(text: str) -> str:
    """Ё written as Е; the result has the same length as ``text``."""
    return text.translate(_YO)


def lower(word: str) -> str:
    """Lowercase, one kind of apostrophe, mixed-script words read as Cyrillic; ё kept,
    because the dictionaries tell все from всё."""
    w = unicodedata.normalize("NFC", word).lower().translate(_APOSTROPHES)
    if any(c in _CYRILLIC for c in w) and any(c in _LATIN for c in w):
        w = w.translate(_HOMOGLYPHS)
    return w


def fold(word: str) -> str:
    """The folded form of one word (see the module docstring)."""
    return lower(word).replace("ё", "е")


def words(text: str) -> list[Word]:
    return [Word(m.start(), m.end(), fold(m.group())) for m in _WORD.finditer(text)]


def word_forms(text: str) -> list[str]:
    """Just the folded forms, for rule text (phrases, hyphenated words)."""
    return [fold(m.group()) for m in _WORD.finditer(text)]


def hashtags(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, folded tag without #)`` of every hashtag."""
    return [(m.start(), m.end(), fold(m.group(1))) for m in _HASHTAG.finditer(text)]


def script(form: str) -> str:
    """``"cyrillic"``, ``"latin"`` or ``"other"`` (digits, other alphabets)."""
    for c in form:
        if c in _CYRILLIC:
            return "cyrillic"
        if c in _LATIN:
            return "latin"
    return "other"
