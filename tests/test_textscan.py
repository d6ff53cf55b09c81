"""Regexes searched over many texts at once (bot.rules.textscan) find exactly what
searching each post's texts one by one finds: texts joined by newlines, ё folded in
place, disguised and anchored texts on their own, matches that run over a text's end."""

from __future__ import annotations

import json
import random

import pytest
import re2

from bot.rules.analysis import regex_texts
from bot.rules.parser import regex_options
from bot.rules.textscan import fold_yo_utf8, regex_hits
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
    text = "Ёлка, ёж, еЁё: Съёмка"
    assert fold_yo_utf8(text.encode()) == text.replace("ё", "е").replace("Ё", "Е").encode()
    assert fold_yo_utf8("без них".encode()) == "без них".encode()
    assert fold_yo_utf8(b"") == b""
