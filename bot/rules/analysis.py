"""A post's text analysed once, then matched against any number of rules."""

from __future__ import annotations

from dataclasses import dataclass

from bot.rules.keys import post_languages, text_word_keys
from bot.rules.text import Word, fold_yo, hashtags, words


@dataclass(frozen=True, slots=True)
class AnalysedText:
    """Everything rules look at in one post. Build it with :func:`analyse`."""

    text: str                                 # the post text as given
    folded: str                               # the text with ё as е (same length): regexes read it
    words: tuple[Word, ...]                   # words in order, with offsets into ``text``
    word_keys: tuple[frozenset[str], ...]     # keys of each word (:mod:`bot.rules.keys`)
    tags: tuple[tuple[int, int, str], ...]    # hashtags: start, end, folded tag
    keys: frozenset[str]                      # every key of the post, channel included
    languages: tuple[str, ...]                # "ru", "uk": how its Cyrillic words were read
    channel: str | None = None                # username, lowercase, without @
    channel_id: int | None = None


def analyse(text: str, channel: str | None = None,
            channel_id: int | None = None) -> AnalysedText:
    """Tokenise, fold, lemmatise and romanize ``text`` (the post's channel, by username
    and/or id, is what ``from:`` rules look at)."""
    found = words(text)
    forms = [w.form for w in found]
    langs = post_languages(text)
    word_keys = tuple(text_word_keys(form, langs) for form in forms)
    tags = tuple(hashtags(text))
    username = channel.lstrip("@").lower() if channel else None
    extra = {"#:" + tag for _, _, tag in tags}
    if username:
        extra.add("ch:" + username)
    if channel_id is not None:
        extra.add(f"chid:{channel_id}")
    keys = frozenset(extra).union(*word_keys)
    return AnalysedText(text, fold_yo(text), tuple(found), word_keys, tags, keys, langs,
                        username, channel_id)
