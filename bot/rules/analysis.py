"""A post's text analysed once, then matched against any number of rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from bot.rules.keys import post_languages, text_keys_cache, text_word_keys
from bot.rules.match import Span
from bot.rules.text import HASHTAG, WORD, fold_text, fold_yo, word_text


@dataclass(frozen=True)
class AnalysedText:
    """Everything rules look at in one post. Build it with :func:`analyse`."""

    text: str                                 # the post text as given
    folded: str                               # folded, same length (text.fold_text)
    forms: tuple[str, ...]                    # its words, folded, in order
    word_keys: tuple[tuple[str, ...], ...]    # keys of each word (:mod:`bot.rules.keys`)
    tags: tuple[tuple[int, int, str], ...]    # hashtags: start, end, folded tag
    keys: frozenset[str]                      # every key of the post, channel included
    languages: tuple[str, ...]                # "ru", "uk": how its Cyrillic words were read
    channel: str | None = None                # username, lowercase, without @
    channel_id: int | None = None

    @cached_property
    def spans(self) -> tuple[Span, ...]:
        """Where each word of ``forms`` is in ``text`` (found again only when needed)."""
        return tuple(m.span() for m in WORD.finditer(word_text(self.folded)))

    @cached_property
    def regex_text(self) -> str:
        """What regexes read: the text with ё as е, same length."""
        return fold_yo(self.text)


def regex_texts(text: str) -> tuple[str, ...]:
    """Every text a rule's regexes read of a post (a regex holds if it finds something in
    one): here :attr:`AnalysedText.regex_text`. Backtests decide ``/regex/`` terms from
    these without analysing the post (bot.rules.backtest): keep the two in step."""
    return (fold_yo(text),)


# Keys of words looked up elsewhere before they are worked out: (forms, the post's
# languages) -> the keys of those it knows (the word index keeps every word's keys).
KeyLookup = Callable[[list[str], tuple[str, ...]], Mapping[str, tuple[str, ...]]]


def analyse(text: str, channel: str | None = None, channel_id: int | None = None, *,
            lookup: KeyLookup | None = None) -> AnalysedText:
    """Tokenise, fold, lemmatise and romanize ``text`` (the post's channel, by username
    and/or id, is what ``from:`` rules look at). ``lookup`` is asked first for words
    whose keys are not cached, so that stored keys spare the dictionaries."""
    folded = fold_text(text)
    langs = post_languages(folded, yo="ё" in text or "Ё" in text)
    forms = tuple(WORD.findall(word_text(folded)))
    cache = text_keys_cache(langs)
    get = cache.get
    word_keys = [get(f) for f in forms]
    if None in word_keys and lookup is not None:
        cache.update(lookup(list({f for f, k in zip(forms, word_keys, strict=True)
                                  if k is None}), langs))
        word_keys = [get(f) for f in forms]
    if None in word_keys:
        for i, form in enumerate(forms):
            if word_keys[i] is None:
                word_keys[i] = cache[form] = text_word_keys(form, langs)
    extra: set[str] = set()
    tags: tuple[tuple[int, int, str], ...] = ()
    if "#" in text:
        tags = tuple((m.start(), m.end(), m.group(1)) for m in HASHTAG.finditer(folded))
        extra.update("#:" + tag for _, _, tag in tags)
    username = channel.lstrip("@").lower() if channel else None
    if username:
        extra.add("ch:" + username)
    if channel_id is not None:
        extra.add(f"chid:{channel_id}")
    done: tuple[tuple[str, ...], ...] = tuple(word_keys)  # type: ignore[arg-type]
    keys = frozenset(extra).union(*done)
    return AnalysedText(text, folded, forms, done, tags, keys, langs, username, channel_id)
