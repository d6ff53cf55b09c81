"""The word index: what it holds of a post, and what a rule asks of it (pure).

A post is indexed under its *words*: each word form it contains, prefixed by the
languages the post was read in (the keys of a form depend on them), its hashtags and
its channel. What rules match on, the keys of each form (lemmas, romanized skeletons,
stems: :mod:`bot.rules.keys`), is kept once per distinct word, not once per post: the
index's vocabulary maps each word to its keys, and a rule's keys are turned into the
words that have them when it is searched.

:func:`plan` turns a compiled rule into a :data:`Formula` over key sets and regexes:
every post the rule matches satisfies it, and when the formula is *exact* a post that
satisfies it is matched. Phrases (word order) are not in the index: the posts with
every word of one are read and their words checked (:class:`Adjacent`), as are the
texts for regexes (:class:`Finds`).

Bump :data:`INDEX_VERSION` whenever analysis changes the forms or keys of a text: a
stored index of another version is rebuilt (``tgmon index``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.rules import compiler as c
from bot.rules.analysis import AnalysedText
from bot.rules.compiler import CompiledRule
from bot.rules.keys import BOTH
from bot.rules.morph import RU, UK

INDEX_VERSION = "3"          # 2: words read through storage.normalise (issue 16)
#                              3: posts whose words a regex literal may miss are marked

# Words of posts read in these languages start with this letter.
NAMESPACES: dict[tuple[str, ...], str] = {(RU,): "r", (UK,): "u", BOTH: "b"}
TAG = "t"                  # a hashtag: "t" + the folded tag
CHANNEL = "c"              # the post's channel: "c" + its id
APART = "n1"               # a post whose text as written a regex may read otherwise

# Old Cyrillic letter forms (ᲀ ᲁ ᲂ ᲃ ᲄ ᲅ ᲆ ᲇ ᲈ) that RE2's case folding reads as в д о с т т ъ
# ѣ ꙋ, and lowercasing (so the words) does not: a regex literal may find them.
_CASE_APART = re.compile("[\u1c80-\u1c88]")

# Key kinds of post-level facts; every other key is a word's.
TAG_KEY, CHANNEL_KEY, CHANNEL_ID_KEY, PREFIX_KEY, REGEX_KEY = "#:", "ch:", "chid:", "pre:", "re:"


def namespace(languages: tuple[str, ...]) -> str:
    return NAMESPACES[languages]


@dataclass(frozen=True)
class PostWords:
    """A post as the index holds it: filed under ``namespace + form`` for each of its
    forms, ``TAG + tag`` for each hashtag and ``CHANNEL + id``."""

    namespace: str                            # the letter of the post's languages
    forms: frozenset[str]
    tags: frozenset[str]
    channel_id: int
    keys: dict[str, tuple[str, ...]]          # form -> its keys (the vocabulary's entries)

    apart: bool = False     # its words may not hold what regexes read (see post_words)

    def groups(self) -> list[tuple[str, Iterable[str]]]:
        """``(letter, names)``: the post is filed under letter + name for each name."""
        out: list[tuple[str, Iterable[str]]] = [
            (self.namespace, self.forms), (TAG, self.tags), (CHANNEL, (str(self.channel_id),))]
        if self.apart:
            out.append((APART[0], (APART[1:],)))
        return out


def post_words(post: AnalysedText, channel_id: int) -> PostWords:
    """What the index holds of a post. A post is marked *apart* when a piece of a regex
    found in its text might not be a piece of one of its words (lowercased): its text
    changes when normalised (regexes read it as written too), or it has a letter RE2's
    case folding reads otherwise. Regex backtests take marked posts as candidates."""
    keys = dict(zip(post.forms, post.word_keys, strict=True))
    apart = post.normalised is not None or _CASE_APART.search(post.text) is not None
    return PostWords(namespace(post.languages), frozenset(keys),
                     frozenset(tag for _, _, tag in post.tags), channel_id, keys, apart)


# ---- what a rule asks ------------------------------------------------------------------


@dataclass(frozen=True)
class Has:
    """The post has one of these keys."""

    keys: frozenset[str]


@dataclass(frozen=True)
class Finds:
    """The regex finds something in the post's text (what regexes read of it): not in
    the index, but decided by reading the text, without analysing it."""

    pattern: str


@dataclass(frozen=True)
class Adjacent:
    """Adjacent words, each with one of its part's keys (a phrase): decided from the
    post's words and the forms the vocabulary files under each part's keys."""

    parts: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Formula, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Formula, ...]


@dataclass(frozen=True)
class Without:
    """``have`` and none of ``lack``."""

    have: Formula
    lack: Formula


Formula = Has | Finds | Adjacent | AllOf | AnyOf | Without


def plan(rule: CompiledRule) -> tuple[Formula | None, bool]:
    """``(formula, exact)``: every post the rule matches satisfies the formula (None:
    the index cannot narrow the rule down, every post is a candidate); if ``exact``,
    every post that satisfies it is matched."""
    return _plan(rule.root)


def _plan(node: c._Node) -> tuple[Formula | None, bool]:
    if isinstance(node, c._Regex):
        return Finds(node.pattern), True
    if isinstance(node, c._Sequence):
        if all(is_word_key(k) for part in node.parts for k in part):
            return Adjacent(node.parts), True
        # every part somewhere in the post; their order is the matcher's to check
        return AllOf(tuple(Has(p) for p in node.parts)), False
    if isinstance(node, c._Term):
        return Has(node.keys), True
    if isinstance(node, c._Or):
        planned = [_plan(child) for child in node.children]
        parts = [f for f, _ in planned]
        if any(f is None for f in parts):
            return None, False
        return AnyOf(tuple(f for f in parts if f is not None)), all(e for _, e in planned)
    if isinstance(node, c._And):
        have: list[Formula] = []
        lack: list[Formula] = []
        exact = True
        for child in node.children:
            if isinstance(child, c._Not):
                f, e = _plan(child.child)
                if f is not None and e:
                    lack.append(f)
                else:            # an approximate exclusion would drop matches: leave it out
                    exact = False
                continue
            f, e = _plan(child)
            exact = exact and e
            if f is None:
                exact = False
            else:
                have.append(f)
        if not have:
            return None, False
        formula: Formula = have[0] if len(have) == 1 else AllOf(tuple(have))
        if lack:
            formula = Without(formula, lack[0] if len(lack) == 1 else AnyOf(tuple(lack)))
        return formula, exact
    return None, False         # a lone exclusion: anything may match


@dataclass(frozen=True)
class SearchPlan:
    """How to find the posts some rules may match: those that satisfy ``formula``
    (None: any post may). With ``exact``, they are the matches."""

    formula: Formula | None
    exact: bool = False


def search_plan(rule: CompiledRule) -> SearchPlan:
    formula, exact = plan(rule)
    if formula is not None:
        return SearchPlan(formula, exact)
    # The index cannot follow the rule's logic: it still needs one of its index keys,
    # as the RuleSet files it.
    keys: list[Formula] = [Has(frozenset(k for k in rule.index_keys
                                         if not k.startswith(REGEX_KEY)))]
    keys += [Finds(k[len(REGEX_KEY):]) for k in sorted(rule.index_keys)
             if k.startswith(REGEX_KEY)]
    parts = tuple(f for f in keys if not isinstance(f, Has) or f.keys)
    return SearchPlan(parts[0] if len(parts) == 1 else AnyOf(parts), False)


def union_plan(plans: Iterable[SearchPlan]) -> SearchPlan:
    """What any of several rules may match."""
    plans = list(plans)
    formulas = tuple(p.formula for p in plans if p.formula is not None)
    if not formulas or len(formulas) < len(plans):
        return SearchPlan(None)
    formula = formulas[0] if len(formulas) == 1 else AnyOf(formulas)
    return SearchPlan(formula, len(plans) == 1 and plans[0].exact)


def reads_text(formula: Formula) -> bool:
    """True when deciding the formula reads posts' texts (a regex, a phrase), not only
    the index."""
    match formula:
        case Finds() | Adjacent():
            return True
        case AllOf(parts=parts) | AnyOf(parts=parts):
            return any(reads_text(p) for p in parts)
        case Without(have=have, lack=lack):
            return reads_text(have) or reads_text(lack)
    return False


def is_word_key(key: str) -> bool:
    return not key.startswith((TAG_KEY, CHANNEL_KEY, CHANNEL_ID_KEY, PREFIX_KEY, REGEX_KEY))
