"""Words of a text, and folding.

Folding lowercases, writes ё as е and unifies the apostrophes Ukrainian words contain.
It comes after normalising (:mod:`storage.normalise`): a post is normalised, then folded
as a whole keeping its length, so offsets of words found in the folded text are offsets
into the normalised text (:class:`~storage.normalise.Offsets` leads them back to the
original), in Python string indices (code points).
"""

from __future__ import annotations

import re

from storage.normalise import normalise

# A word: letters and digits, with combining marks (a stress mark, a decomposed й) and
# apostrophes between letters (Ukrainian м'ясо, English don't). Hyphens split words, and
# so do underscores, which word_text() turns into spaces: "Санкт-Петербург" and
# "#Курская_область" are two words each, which a rule matches as adjacent words.
WORD = re.compile(r"[\w\u0300-\u036f]+(?:'[\w\u0300-\u036f]+)*")
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")

_APOSTROPHES = "’ʼ`"

_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўјђћџѓќљњѕ")
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
RU_ONLY = frozenset("ыэъё")
UK_ONLY = frozenset("іїєґ")


def fold_yo(text: str) -> str:
    """Ё written as Е; the result has the same length as ``text``."""
    return text.replace("ё", "е").replace("Ё", "Е")


def fold_text(text: str) -> str:
    """The folded text, exactly as long as ``text`` (a character whose lowercase is
    longer, like İ, keeps its first lowercase character)."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c.lower()[0] for c in text)
    return _unify(lowered.replace("ё", "е"))


def _unify(s: str) -> str:
    for a in _APOSTROPHES:
        if a in s:
            s = s.replace(a, "'")
    return s


def word_text(folded: str) -> str:
    """What words are read from: the folded text with underscores as spaces."""
    return folded.replace("_", " ") if "_" in folded else folded


def fold(word: str) -> str:
    """The folded form of a word of a rule (normalised as post text is)."""
    return _unify(normalise(word).lower().replace("ё", "е"))


def canonical(form: str) -> str:
    """A folded word as the dictionaries expect it: normalised (composed, without stress
    marks, in one script). Words of analysed posts and of rules already are."""
    return form if form.isascii() else normalise(form)


def word_forms(text: str) -> list[str]:
    """The folded words of a piece of rule text (a phrase, a hyphenated word)."""
    return WORD.findall(word_text(fold(text)))


def script(form: str) -> str:
    """``"cyrillic"``, ``"latin"`` or ``"other"`` (digits, other alphabets)."""
    for c in form:
        if c in _CYRILLIC:
            return "cyrillic"
        if c in _LATIN:
            return "latin"
    return "other"
