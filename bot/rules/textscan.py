"""Regexes and phrases decided over many stored texts at once (pure: the backtest reads
the texts, :mod:`bot.rules.backtest`, and asks here which of them a formula holds for).

A regex is searched for in each text as :func:`~bot.rules.analysis.regex_texts` reads
it: with ё as е, and normalised too when normalising changes the text. RE2 pays a few
microseconds a call from Python, more than searching a post takes, so the texts are
joined by newlines (ё folded in place) and searched in one pass; a text with Ё or that
normalising may change (one scan finds them) is searched on its own (normalised too),
as is a text where a match runs over into the next. Patterns that anchor at
the start or end of the text (``^``, ``$``, ``\\A``, ``\\z``) mean something else in
the joined texts: each text is searched on its own.

A phrase (adjacent words, each with one of its part's keys) is decided from the post's
words (:func:`~bot.rules.analysis.read_words`, what :func:`~bot.rules.analysis.analyse`
reads) and, per part, the forms the word index's vocabulary files under those keys:
the same answer as the matcher, without looking up every word's keys.
"""

from __future__ import annotations

import re
import threading
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
    """Where a text must be searched on its own: an Ё (left as it is in the joined
    texts), or something normalising may change (its normalised text is searched too)."""
    options = re2.Options()
    options.max_mem = 1 << 24
    return re2.compile(f"\u0401|{maybe_pattern()}", options)


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


# Letters a regex piece is looked up by among the index's words: RE2's case folding and
# lowercasing agree on them (a test checks every character RE2 folds them with), but for
# letters a marked post may hold (postwords.APART). Not ё: regexes read it as е.
WORD_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789"
                         "абвгдежзийклмнопрстуфхцчшщъыьэюяіїєґ")
MIN_PIECE = 3       # shorter pieces are in too many words to narrow a search down


def regex_pieces(pattern: str) -> frozenset[str] | None:
    """Pieces of words, lowercased, one of which is in the text of every match of the
    regex (so in one of the words of every post it finds something in, but marked
    posts); None when the pattern names none at least :data:`MIN_PIECE` letters long.
    Read with Python's parser, which reads RE2's common syntax; whatever else it cannot
    read, or might read otherwise (POSIX classes), names none."""
    if "[:" in pattern:
        return None
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except (re.error, RecursionError, OverflowError):
        return None
    found = _needs(parsed.data)
    if found is None or min(map(len, found)) < MIN_PIECE:
        return None
    return frozenset(found)


def _needs(items: Any) -> set[str] | None:
    """The best choice of pieces one of which every match of this sequence has."""
    c = re._constants  # type: ignore[attr-defined]
    options: list[set[str]] = []
    run: list[str] = []
    for op, arg in [*items, (None, None)]:
        if op is c.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            options.append({_piece("".join(run))})
            run = []
        if op is c.SUBPATTERN:
            inner = _needs(arg[3].data)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and arg[0] >= 1:
            inner = _needs(arg[2].data)
        elif op is c.ATOMIC_GROUP:
            inner = _needs(arg.data)
        elif op is c.BRANCH:
            alternatives = [_needs(branch.data) for branch in arg[1]]
            inner = (None if any(a is None for a in alternatives)
                     else set().union(*alternatives))          # type: ignore[arg-type]
        else:
            inner = None
        if inner:
            options.append(inner)
    options = [o for o in options if all(o)]
    return max(options, key=lambda o: min(map(len, o)), default=None)


def _piece(literal: str) -> str:
    """The longest run of word letters in a literal, lowercased."""
    best = current = ""
    for ch in literal.lower():
        if ch in WORD_LETTERS:
            current += ch
            best = max(best, current, key=len)
        else:
            current = ""
    return best


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
    # Texts to search on their own: RE2 lets go of the GIL while it scans, so this scan
    # runs on another core while the regex is searched for in the joined texts.
    apart: list[tuple[int, bool]] = []
    failed: list[BaseException] = []        # raised here, not lost with the thread

    def find_apart() -> None:
        try:
            _find_apart(joined, apart)
        except BaseException as e:          # re-raised below
            failed.append(e)

    scan = threading.Thread(target=find_apart, name="tgmon-regex-apart")
    scan.start()
    try:
        folded = fold_yo_utf8(joined)
        if _anchored(pattern):
            found = {i for i in range(len(texts))
                     if regex.search(folded[starts[i]:starts[i + 1] - 1])}
        else:
            found = set(_joined_hits(regex, folded, starts))
    finally:
        scan.join()
    if failed:
        raise failed[0]
    alone: dict[int, bool] = {}         # text -> whether it has an Ё
    for at, big_yo in apart:
        i = bisect_right(starts, at) - 1
        alone[i] = alone.get(i, False) or big_yo
    for i, big_yo in alone.items():
        if big_yo:          # the joined texts did not read its Ё as Е
            found.discard(i)
        elif i in found:    # found as written: its normalised text changes nothing
            continue
        if any(regex.search(read.encode()) for read in regex_texts(texts[i].decode())):
            found.add(i)
    return found


_BIG_YO = "\u0401".encode()


def _find_apart(joined: bytes, out: list[tuple[int, bool]]) -> None:
    """``(offset, is Ё)`` of every place :func:`_maybe` finds."""
    out.extend((m.end() - 1, _BIG_YO in joined[m.start():m.end()])
               for m in _maybe().finditer(joined))


def fold_yo_utf8(data: bytes) -> bytes:
    """UTF-8 ``data`` with ё as е (:func:`~bot.rules.text.fold_yo` on bytes, for ё only:
    both are two bytes long, so every offset stays). Texts with Ё are rare and searched
    on their own. ё is d1 91: its second byte is found with memchr (``bytes.replace``
    compares at every Cyrillic lead byte, twice as slow)."""
    out: bytearray | None = None
    find = data.find
    at = find(b"\x91", 1)
    while at != -1:
        if data[at - 1] == 0xD1:       # d1 only ever leads a character
            if out is None:
                out = bytearray(data)
            out[at - 1:at + 1] = b"\xd0\xb5"       # е
        at = find(b"\x91", at + 1)
    return data if out is None else bytes(out)


def _joined_hits(regex: Any, joined: bytes, starts: list[int]) -> Iterator[int]:
    """Texts a regex without start or end anchors finds something in, searching the
    joined texts: a match inside one text is one of that text alone (a newline reads
    as a text's edge does to ``\\b``); one that runs over into the next text is checked
    on its text alone. Each search starts at a text's beginning, so every text gets its
    turn: the leftmost match from there starts in that text or later. (RE2's own
    ``Match``, without the module's match objects: a search per matching text.)"""
    search, unanchored = regex._regexp.Match, re2._Anchor.UNANCHORED
    pos, end = 0, len(joined)
    while pos <= end:
        first, last = search(unanchored, joined, pos, end)[0]
        if first < 0:
            return
        i = bisect_right(starts, first) - 1
        nxt = starts[i + 1]
        if last < nxt or search(unanchored, joined, starts[i], nxt - 1)[0][0] >= 0:
            yield i
        pos = nxt


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
