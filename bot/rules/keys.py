"""Keys: the strings a rule term and a post's words meet on.

A text word and a rule word match when their key sets intersect. Keys carry a prefix
saying what they are:

- ``w:`` the folded form itself (every word);
- ``ru:`` / ``uk:`` a Russian or Ukrainian lemma (Cyrillic words);
- ``en:`` an English Snowball stem (Latin words);
- ``sk:`` a romanized skeleton (:mod:`bot.rules.romanize`): a Cyrillic text word has
  the skeletons of its form and of its lemmas; a Latin rule word has the skeletons it
  may stand for, so ``Kursk`` meets ``Курской`` through the lemma ``курск``.

Which languages a Cyrillic word is read in: a word with ы, э or ъ is Russian, one with
і, ї, є or ґ Ukrainian; other words are read in the languages of their post (see
:func:`post_languages`), and rule words in both. Keys of post-level facts use other
prefixes: ``#:`` hashtags, ``ch:`` / ``chid:`` the channel, ``pre:`` and ``re:``
prefixes and regexes found in the post.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from bot.rules.morph import RU, UK, english_stem, lemmas
from bot.rules.romanize import cyrillic_skeleton, latin_skeletons
from bot.rules.text import RU_ONLY, UK_ONLY, canonical, script

BOTH = (RU, UK)
# Latin rule words this short ("on", "no") would meet too many Cyrillic words.
MIN_ROMANIZED = 3


def post_languages(folded: str, yo: bool = False) -> tuple[str, ...]:
    """Russian, Ukrainian or (mixed or undecided) both, from the letters only one of the
    languages has (``yo``: the text had ё before folding)."""
    ru = yo or any(c in folded for c in RU_ONLY)
    uk = any(c in folded for c in UK_ONLY)
    if ru != uk:
        return (RU,) if ru else (UK,)
    return BOTH


def _languages(form: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if not RU_ONLY.isdisjoint(form):
        return (RU,)
    if not UK_ONLY.isdisjoint(form):
        return (UK,)
    return default


def _lemma_keys(form: str, langs: tuple[str, ...]) -> set[str]:
    return {f"{lang}:{lemma}" for lang in langs for lemma in lemmas(form, lang)}


def text_word_keys(form: str, langs: tuple[str, ...]) -> tuple[str, ...]:
    """Keys of a folded word of a post whose languages are ``langs`` (uncached: see
    :func:`text_keys_cache`)."""
    form = canonical(form)
    if any(c.isdigit() for c in form):
        return (sys.intern("w:" + form),)
    keys = {"w:" + form}
    kind = script(form)
    if kind == "cyrillic":
        langs = _languages(form, langs)
        lemma_keys = _lemma_keys(form, langs)
        keys |= lemma_keys
        keys.add("sk:" + cyrillic_skeleton(form))
        keys.update("sk:" + cyrillic_skeleton(k.split(":", 1)[1]) for k in lemma_keys)
    elif kind == "latin":
        keys.add("en:" + english_stem(form))
    # A tuple takes a fifth of a frozenset's memory, and the cache holds ~10^5 of them;
    # many words share keys (every form of a lemma has its ru: and sk: keys): one copy.
    return tuple(map(sys.intern, keys))


_TEXT_CACHE_LIMIT = 100_000
_text_caches: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}


def text_keys_cache(langs: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The cache of :func:`text_word_keys` for posts in ``langs``: a plain dict, read
    with ``get`` in the hot loop and emptied when it grows past a bound."""
    cache = _text_caches.setdefault(langs, {})
    if len(cache) > _TEXT_CACHE_LIMIT:
        cache.clear()
    return cache


@lru_cache(maxsize=20_000)
def rule_word_keys(form: str) -> frozenset[str]:
    """Keys of a folded bare word of a rule."""
    form = canonical(form)
    keys = {"w:" + form}
    if any(c.isdigit() for c in form):
        return frozenset(keys)
    kind = script(form)
    if kind == "cyrillic":
        keys |= _lemma_keys(form, _languages(form, BOTH))
    elif kind == "latin":
        keys.add("en:" + english_stem(form))
        if sum(c.isalpha() for c in form) >= MIN_ROMANIZED:
            keys.update("sk:" + s for s in latin_skeletons(form))
    return frozenset(keys)
