"""Regexes and phrases decided over many stored texts at once (pure: the backtest reads
the texts, :mod:`bot.rules.backtest`, and asks here which of them a formula holds for).

A regex is searched for in each text as :func:`~bot.rules.analysis.regex_texts` reads
it: with ё as е, and normalised too when normalising changes the text. RE2 pays a few
microseconds a call from Python, more than searching a post takes, so the texts are
joined by newlines (ё folded in place) and searched in one pass; a text that
normalising may change (one scan finds them) is searched normalised too, and a text
where a match runs over into the next is searched on its own. Patterns that anchor at
the start or end of the text (``^``, ``$``, ``\\A``, ``\\z``) mean something else in
the joined texts: each text is searched on its own.

A phrase (adjacent words, each with one of its part's keys) is decided from the post's
words (:func:`~bot.rules.analysis.read_words`, what :func:`~bot.rules.analysis.analyse`
reads) and, per part, the forms the word index's vocabulary files under those keys:
the same answer as the matcher, without looking up every word's keys.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from itertools import accumulate
from typing import Any

import re2

from bot.rules.analysis import read_words, regex_texts
from bot.rules.parser import regex_options
from bot.rules.postwords import namespace
from storage.normalise import maybe_pattern

SEP = b"\n"


@cache
def _maybe() -> Any:
    """Where normalising may change a text (then its normalised text is searched too)."""
    options = re2.Options()
    options.max_mem = 1 << 24
    return re2.compile(maybe_pattern(), options)


def _anchored(pattern: str) -> bool:
    """True unless the pattern surely has no anchor at the text's start or end (what
    Python's parser, which reads RE2's common syntax, finds; anything it cannot read
    counts as anchored)."""
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except (re.error, RecursionError, OverflowError):
        return True
    allowed = {re._constants.AT_BOUNDARY, re._constants.AT_NON_BOUNDARY}  # type: ignore[attr-defined]
    return any(op == re._constants.AT and arg not in allowed  # type: ignore[attr-defined]
               for op, arg in _walk(parsed))


def _walk(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every ``(op, argument)`` of a parsed pattern, nested ones included."""
    if isinstance(node, re._parser.SubPattern):  # type: ignore[attr-defined]
        for op, arg in node.data:
            yield op, arg
            yield from _walk(arg)
    elif isinstance(node, (list, tuple)):
        for part in node:
            yield from _walk(part)


def _starts(texts: Sequence[bytes]) -> list[int]:
    """Where each text begins in ``SEP.join(texts)``, and one past the end."""
    return list(accumulate((len(t) + 1 for t in texts), initial=0))


def regex_hits(pattern: str, texts: Sequence[bytes]) -> set[int]:
    """Indexes of the texts (UTF-8) in which the rule regex ``pattern`` finds
    something, as a post's regexes read it."""
    if not texts:
        return set()
    regex = re2.compile(pattern, regex_options())
    joined = SEP.join(texts)
    starts = _starts(texts)
    maybe = [m.end() - 1 for m in _maybe().finditer(joined)]
    folded = fold_yo_utf8(joined)
    if _anchored(pattern):
        found = {i for i in range(len(texts))
                 if regex.search(folded[starts[i]:starts[i + 1] - 1])}
    else:
        found = set(_joined_hits(regex, folded, starts))
    for i in {bisect_right(starts, at) - 1 for at in maybe}:
        if i not in found and any(regex.search(read.encode())
                                  for read in regex_texts(texts[i].decode())):
            found.add(i)
    return found


def fold_yo_utf8(data: bytes) -> bytes:
    """UTF-8 ``data`` with ё and Ё as е and Е (:func:`~bot.rules.text.fold_yo`, on bytes:
    both are two bytes long, so every offset stays). NumPy finds them: ``bytes.replace``
    stumbles on every Cyrillic с and р, whose second bytes look alike."""
    import numpy as np  # only regex backtests need it (~50 ms to import)

    a = np.frombuffer(data, np.uint8)
    yo = np.flatnonzero(a[1:] == 0x91)
    yo = yo[a[yo] == 0xD1]              # d1 91: ё (d1 only ever leads a character)
    big = np.flatnonzero(a[1:] == 0x81)
    big = big[a[big] == 0xD0]           # d0 81: Ё
    if not len(yo) and not len(big):
        return data
    out = a.copy()
    out[yo] = 0xD0
    out[yo + 1] = 0xB5                  # d0 b5: е
    out[big + 1] = 0x95                 # d0 95: Е
    return out.tobytes()


def _joined_hits(regex: Any, joined: bytes, starts: list[int]) -> Iterator[int]:
    """Texts a regex without start or end anchors finds something in, searching the
    joined texts: a match inside one text is one of that text alone (a newline reads
    as a text's edge does to ``\\b``); one that runs over into the next text is checked
    on its text alone. Each search starts at a text's beginning, so every text gets its
    turn: the leftmost match from there starts in that text or later."""
    pos, end = 0, len(joined)
    while pos <= end:
        m = regex.search(joined, pos)
        if m is None:
            return
        i = bisect_right(starts, m.start()) - 1
        if m.end() < starts[i + 1] or regex.search(joined[starts[i]:starts[i + 1] - 1]):
            yield i
        pos = starts[i + 1]


def adjacent_hits(parts: Mapping[str, Sequence[frozenset[str]]],
                  texts: Sequence[str]) -> set[int]:
    """Indexes of the texts with adjacent words whose forms are in ``parts[ns]`` in
    turn, ``ns`` being the namespace of the text's languages (the forms of each part's
    keys, as the word index's vocabulary has them)."""
    found = set()
    for i, text in enumerate(texts):
        words = read_words(text)
        sets = parts.get(namespace(words.languages))
        if sets and _adjacent(words.forms, sets):
            found.add(i)
    return found


def _adjacent(forms: Sequence[str], sets: Sequence[frozenset[str]]) -> bool:
    first, rest = sets[0], sets[1:]
    for i in range(len(forms) - len(rest)):
        if forms[i] not in first:
            continue
        j = i
        for part in rest:
            j += 1
            if forms[j] not in part:
                break
        else:
            return True
    return False
