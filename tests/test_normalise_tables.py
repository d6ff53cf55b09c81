"""The character tables storage.normalise keeps (so that a command does not build them at
start) are those this Python's Unicode database gives, and its one-scan pre-check never
passes over a text that needs normalising."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import re2

from storage import normalise, unicode_tables
from storage.normalise import maybe_pattern, needs_normalising
from storage.normalise import normalise as normalised

TABLES = Path(normalise.__file__).with_name("unicode_tables.py")


@pytest.mark.skipif(unicodedata.unidata_version != unicode_tables.UNIDATA_VERSION,
                    reason="storage/unicode_tables.py is for another Unicode database "
                           "(normalise builds the tables itself on this Python)")
def test_the_stored_tables_are_this_unicode_databases():
    assert TABLES.read_text(encoding="utf-8") == normalise.tables_source(), (
        "regenerate: python -c \"from storage.normalise import tables_source; "
        "open('storage/unicode_tables.py', 'w').write(tables_source())\"")


def test_tables_of_another_unicode_version_are_not_used(monkeypatch):
    monkeypatch.setattr(unicode_tables, "UNIDATA_VERSION", "0.0.0")
    monkeypatch.setattr(unicode_tables, "SPECIAL", ())
    assert normalise._tables() == normalise.compute_tables()


def _neighbours() -> list[str]:
    """Every BMP character alone and between the letters and marks that decide: Latin
    and Cyrillic letters, an apostrophe, a digit, an emoji."""
    out = []
    for cp in range(0x80, 0x10000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        out += [c, f"a{c}", f"ж{c}", f"{c}ж", f"{c}a", f"1{c}", f"ж'{c}", f"🔥{c}"]
    return out


def test_the_pre_check_finds_every_text_that_needs_normalising():
    maybe = re2.compile(maybe_pattern())
    texts = [*_neighbours(), "Пoкровск", "Kурск", "м'ясо", "Ку́рск", "ℹ️ info", "1️⃣",
             "🇺🇦", "👨\u200d👩", "x\U0001d40a", "\U000e0001a"]
    missed = [t for t in texts if needs_normalising(t) and not maybe.search(t.encode())]
    assert missed == []
    # and a text it passes over is left as it is
    assert all(normalised(t) == t for t in texts if not maybe.search(t.encode()))


def test_plain_text_passes_the_pre_check():
    maybe = re2.compile(maybe_pattern())
    for text in ("Обстрел Курской области: 5 человек", "Київ, м'ясо", "Kursk region",
                 "❗️ Срочно", "🔥🔥🔥"):
        assert not needs_normalising(text)
    assert not maybe.search("Обстрел Курской области: 5 человек".encode())
