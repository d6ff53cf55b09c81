"""Word forms: lemmas in Russian and Ukrainian (pymorphy3), stems in English (Snowball).

The analysers take a while to build and a parse costs ~0.1 ms, so each analyser is
built once, on first use, and every lookup is cached. All inputs and outputs are
folded forms (lowercase, ё as е): given е, pymorphy also tries ё, so folding loses
nothing a rule could ask for.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

RU, UK = "ru", "uk"

# Toponyms in -ино/-ово/-ево decline like the possessive adjectives and surnames they
# come from (Тёткино, в Тёткине, из Тёткина): the dictionary often knows only those, so
# such a lemma also stands for the village.
_TOPONYM_STEMS = ("ин", "ын", "ов", "ев")


@cache
def analyser(lang: str) -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=lang)


@cache
def _english() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def english_stem(form: str) -> str:
    return str(_english().stemWord(form))


def _is_place(name: str) -> bool:
    return any(p.is_known and p.normal_form == name and "Geox" in p.tag.grammemes
               for p in analyser(RU).parse(name))


def _places_of(adjective: str) -> tuple[str, ...]:
    """A Russian adjective in -ский/-цкий names a place when the dictionary has that place:
    курский -> Курск, белгородский -> Белгород, глушковский -> Глушково, донецкий -> Донецк."""
    if adjective.endswith("цкий"):
        candidates: tuple[str, ...] = (adjective[:-3] + "к",)
    elif adjective.endswith("ский"):
        candidates = (adjective[:-4], adjective[:-4] + "ск", adjective[:-4] + "о")
    else:
        return ()
    return tuple(c for c in candidates if _is_place(c))


@lru_cache(maxsize=50_000)
def lemmas(form: str, lang: str) -> frozenset[str]:
    """The lemmas ``form`` may have in ``lang`` (every parse pymorphy offers; only the
    dictionary's when it knows the word, its guesses otherwise)."""
    parses = analyser(lang).parse(form)
    known = [p for p in parses if p.is_known]
    found: set[str] = set()
    for p in known or parses:
        lemma = p.normal_form.replace("ё", "е")
        found.add(lemma)
        if lang != RU:
            continue
        grammemes = p.tag.grammemes   # (``in p.tag`` trips over the Ukrainian tag set)
        if lemma.endswith(_TOPONYM_STEMS) and ({"Poss", "Surn"} & grammemes
                                               or not p.is_known):
            found.add(lemma + "о")
        if {"ADJF", "Surn"} & grammemes:
            found.update(_places_of(lemma))
    return frozenset(found)
