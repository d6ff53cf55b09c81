"""A post's text analysed once, then matched against any number of rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from bot.rules.keys import post_languages, text_keys_cache, text_word_keys
from bot.rules.match import Span
from bot.rules.text import HASHTAG, WORD, fold_text, fold_yo, word_text
from storage.normalise import Offsets, normalise, normalise_mapped

# The key of a comment (``in:comments`` rules need it; posts never have it).
COMMENT_KEY = "in:comments"


@dataclass(frozen=True)
class AnalysedText:
    """Everything rules look at in one post. Build it with :func:`analyse`.

    Rules read the text normalised (:mod:`storage.normalise`: invisible characters,
    accents, compatibility forms and look-alike letters seen through); every span they
    report is one of the text as given."""

    text: str                                 # the post text as given
    folded: str                               # normalised and folded (text.fold_text)
    forms: tuple[str, ...]                    # its words, folded, in order
    word_keys: tuple[tuple[str, ...], ...]    # keys of each word (:mod:`bot.rules.keys`)
    tags: tuple[tuple[int, int, str], ...]    # hashtags: start, end, folded tag
    post_keys: frozenset[str]                 # keys not of a word: hashtags, channel, comment
    languages: tuple[str, ...]                # "ru", "uk": how its Cyrillic words were read
    channel: str | None = None                # username, lowercase, without @
    channel_id: int | None = None
    normalised: str | None = None             # the normalised text; None: ``text`` itself
    offsets: Offsets | None = None            # from ``normalised`` back to ``text``

    @cached_property
    def keys(self) -> frozenset[str]:
        """Every key of the post: its words' and ``post_keys`` (worked out when first
        read: a RuleSet needs only the few of them its rules look for)."""
        return self.post_keys.union(*self.word_keys)

    @cached_property
    def spans(self) -> tuple[Span, ...]:
        """Where each word of ``forms`` is in ``text`` (found again only when needed)."""
        found = WORD.finditer(word_text(self.folded))
        if self.offsets is None:
            return tuple(m.span() for m in found)
        return tuple(self.offsets.span(*m.span()) for m in found)

    @cached_property
    def regex_text(self) -> str:
        """What regexes read: the text with ё as е, same length."""
        return fold_yo(self.text)

    @cached_property
    def normalised_regex_text(self) -> str | None:
        """What regexes read too when normalising changed the text: the normalised text
        with ё as е (its spans lead back to ``text`` through :meth:`original`). A regex
        holds when it matches either text, so it still finds what is written, disguises
        included, and also what the disguise stands for."""
        return None if self.normalised is None else fold_yo(self.normalised)

    def original(self, start: int, end: int) -> Span:
        """The span of ``text`` that the span ``[start, end)`` of the normalised text
        (or of ``folded`` or ``normalised_regex_text``: same length) was read from."""
        return _original(self.offsets, start, end)


def regex_texts(text: str) -> tuple[str, ...]:
    """Every text a rule's regexes read of a post (a regex holds if it finds something in
    one): :attr:`AnalysedText.regex_text`, and :attr:`AnalysedText.normalised_regex_text`
    when normalising changes the text. Backtests decide ``/regex/`` terms from these
    without analysing the post (bot.rules.backtest): keep the two in step."""
    normalised = normalise(text)
    if normalised == text:
        return (fold_yo(text),)
    return fold_yo(text), fold_yo(normalised)


class Words(NamedTuple):
    """A text read into words, before any word's keys are known."""

    normalised: str
    offsets: Offsets | None     # None: normalising left the text as it was
    folded: str
    languages: tuple[str, ...]
    forms: tuple[str, ...]


def read_words(text: str) -> Words:
    """The first step of :func:`analyse`: the text normalised, folded, its languages and
    its words. Whatever decides a rule from the words alone (a phrase checked against
    the word index's vocabulary) reads them here, so it sees the words analyse sees."""
    normalised, offsets = normalise_mapped(text)
    folded = fold_text(normalised)
    langs = post_languages(folded, yo="ё" in normalised or "Ё" in normalised)
    return Words(normalised, offsets, folded, langs, tuple(WORD.findall(word_text(folded))))


# Keys of words looked up elsewhere before they are worked out: (forms, the post's
# languages) -> the keys of those it knows (the word index keeps every word's keys).
KeyLookup = Callable[[list[str], tuple[str, ...]], Mapping[str, tuple[str, ...]]]


def analyse(text: str, channel: str | None = None, channel_id: int | None = None, *,
            lookup: KeyLookup | None = None, comment: bool = False) -> AnalysedText:
    """Normalise, tokenise, fold, lemmatise and romanize ``text`` (the post's channel, by
    username and/or id, is what ``from:`` rules look at; ``comment``: a comment on one of
    its posts, what ``in:comments`` looks at). Every word key of a post comes from here,
    so whatever reads keys sees through the same disguises. ``lookup`` is asked first for
    words whose keys are not cached, so that stored keys spare the dictionaries."""
    normalised, offsets, folded, langs, forms = read_words(text)
    cache = text_keys_cache(langs)
    get = cache.get
    word_keys = list(map(get, forms))
    if None in word_keys and lookup is not None:
        cache.update(lookup(list({f for f, k in zip(forms, word_keys, strict=True)
                                  if k is None}), langs))
        word_keys = list(map(get, forms))
    if None in word_keys:
        for i, form in enumerate(forms):
            if word_keys[i] is None:
                word_keys[i] = cache[form] = text_word_keys(form, langs)
    extra: list[str] = []
    tags: tuple[tuple[int, int, str], ...] = ()
    if "#" in text:
        tags = tuple((*_original(offsets, *m.span()), m.group(1))
                     for m in HASHTAG.finditer(folded))
        extra += ["#:" + tag for _, _, tag in tags]
    username = channel.lstrip("@").lower() if channel else None
    if username:
        extra.append("ch:" + username)
    if channel_id is not None:
        extra.append(f"chid:{channel_id}")
    if comment:
        extra.append(COMMENT_KEY)
    done: tuple[tuple[str, ...], ...] = tuple(word_keys)  # type: ignore[arg-type]
    return AnalysedText(text, folded, forms, done, tags, frozenset(extra), langs, username,
                        channel_id, None if offsets is None else normalised, offsets)


def _original(offsets: Offsets | None, start: int, end: int) -> Span:
    return (start, end) if offsets is None else offsets.span(start, end)
