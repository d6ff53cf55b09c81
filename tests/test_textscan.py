"""Regexes searched over many texts at once (bot.rules.textscan) find exactly what
searching each post's texts one by one finds: texts joined by newlines, ё folded in
place, disguised and anchored texts on their own, matches that run over a text's end."""

from __future__ import annotations

import json
import random

import pytest
import re2

from bot.rules.analysis import analyse, regex_texts
from bot.rules.parser import regex_options
from bot.rules.postwords import post_words
from bot.rules.text import fold_text
from bot.rules.textscan import WORD_LETTERS, fold_yo_utf8, regex_hits, regex_pieces
from storage.normalise import normalise
from tests.exportkit import NEWS, shared

PIECES = ("Курск", "курской", "ёлка", "Ёлка", "ЁЖ", "елка", "5 человек", "12 человек",
          "\n", "\n\n", " ", "", "дрон", "Kursk", "Пoкровск", "Кур\u200bск", "Ку́рск",
          "ＰＶＯ", "м'ясо", "🔥", "❗️", "1️⃣", "ℹ️", "—", "x", "хх", "ё", "ё\n")
PATTERNS = (r"\d+ человек", "курск", "^курск", "курск$", r"\bдрон\b", "(?s)курск.*дрон",
            r"(?m)^\d", r"\n", r"\n\n", "x+", "^$", "(?-i)Ёл", "ёлка", "елка", "^елка",
            "е$", "покровск", "pvo", "мясо", "м'ясо", r"\s\s", "(?s).", r"\Aё", r"к\z",
            "[а-я]+ка", "[^а-яa-z0-9]{3}", r"\x{2757}", "ку.ск", r"\pL\pN")


def one_by_one(pattern: str, texts: list[str]) -> set[int]:
    regex = re2.compile(pattern, regex_options())
    return {i for i, t in enumerate(texts)
            if any(regex.search(read.encode()) for read in regex_texts(t))}


def random_texts(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 8))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(6))
def test_joined_search_finds_what_each_text_does(seed):
    rng = random.Random(seed)
    texts = random_texts(rng, 300)
    blobs = [t.encode() for t in texts]
    for pattern in PATTERNS:
        assert regex_hits(pattern, blobs) == one_by_one(pattern, texts), pattern


def test_on_the_shared_news_posts():
    with shared(NEWS).open(encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    blobs = [t.encode() for t in texts]
    for pattern in (r"\d+ человек", "курск", r"^\W", r"\.$", "ё", "[её]лк", r"\bПВО\b"):
        assert regex_hits(pattern, blobs) == one_by_one(pattern, texts), pattern


def test_no_texts():
    assert regex_hits("x", []) == set()


def test_yo_is_folded_in_utf8_in_place():
    text = "Ёлка, ёж, еЁё: Съёмка, Б"
    assert fold_yo_utf8(text.encode()) == text.replace("ё", "е").encode()
    assert fold_yo_utf8("без них".encode()) == "без них".encode()
    assert fold_yo_utf8(b"") == b""


@pytest.mark.parametrize(("pattern", "pieces"), [
    (r"\d+ человек", {"человек"}), ("^Курск", {"курск"}), ("курск|Белгород", {"курск", "белгород"}),
    ("(?i)ПВО", {"пво"}), ("(курск)+", {"курск"}), (r"\bдрон\b", {"дрон"}),
    ("Kursk|Курск", {"kursk", "курск"}), ("к.рск", {"рск"}), ("x?курск", {"курск"}),
    ("м'ясо", {"ясо"}), ("(?:abc|de)fgh", {"fgh"}),
    # no piece every match has, or none long enough: every post is read
    ("(курск)*", None), ("курск|ab", None), ("ab", None), ("a|b", None), (r"\d+", None),
    # what Python's parser may read otherwise than RE2, or not at all
    ("[[:word:]x]yzq", None), (r"\pL+курск", None), (r"\Qкурск\E", None),
])
def test_regex_pieces(pattern, pieces):
    assert regex_pieces(pattern) == (None if pieces is None else frozenset(pieces))


def test_every_character_re2_reads_as_a_word_letter_is_that_letter_in_the_words():
    """A piece of a regex lowercased is a piece of a post's words (its text normalised
    and folded), or the post is marked apart: for every character RE2's case folding
    matches with one of the letters pieces are made of."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    joined = "\n".join(chars).encode()
    options = regex_options()
    wrong = []
    for letter in sorted(WORD_LETTERS):
        for m in re2.compile(re2.escape(letter), options).finditer(joined):
            x = m.group().decode()
            if fold_text(normalise(x)) != letter and not post_words(analyse(x), 1).apart:
                wrong.append((letter, f"U+{ord(x):04X}"))
    assert wrong == []


def test_a_failing_scan_for_texts_apart_is_not_lost(monkeypatch):
    from bot.rules import textscan

    def broken(joined, out):
        raise MemoryError("no room for the scan")

    monkeypatch.setattr(textscan, "_find_apart", broken)
    with pytest.raises(MemoryError):
        regex_hits("курск", [b"Kursk", b"\xd0\x9a\xd1\x83\xd1\x80\xd1\x81\xd0\xba"])
