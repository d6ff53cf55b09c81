"""Matching alert rules: 10,000 rules of 1,000 subscribers against 100,000 posts.

Rules are generated from the vocabulary of the real news posts (single words, ORs,
ANDs, phrases, from:, negations, prefixes, Latin spellings, hashtags, a few regexes);
posts are those texts repeated with their sentences rotated, from varying channels.
The figure is posts per second on one core, analysis included. The baseline, measured
in the same run on a sample, evaluates every rule on every post without the index.
Another figure matches a sample rewritten in disguise (look-alike Latin letters, soft
hyphens, stress marks: every post needs normalising) against the same sample as written.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import time
from collections import Counter

from bench.common import NEWS_POSTS, Figure, timed
from bot.rules import RuleSet, analyse, compile_rule
from bot.rules.keys import rule_word_keys
from bot.rules.morph import lemmas

SEED = 20240806
CHANNELS = ("legionoffreedom", "russvolcorps", "gubernator_46", "vvgladkov", "rybar",
            "dva_majors", "wargonzo", "rian_ru", "bbcrussian", "mash")
_WORD = re.compile(r"[А-Яа-яЁё]{4,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "l", "m",
                      "n", "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch",
                      "", "y", "", "e", "yu", "ya"], strict=True))


def _texts() -> list[str]:
    with NEWS_POSTS.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def _romanize(word: str) -> str:
    return "".join(_TRANSLIT.get(c, c) for c in word.lower()).capitalize()


def topical_words(texts: list[str]) -> tuple[list[str], list[str]]:
    """Words and prefixes as alerts name places, people and things: each (with all the
    forms a rule matches) in 0.1% to 2% of the posts."""
    posts = [analyse(t) for t in texts]
    df = Counter(k for p in posts for k in p.keys)
    forms = Counter(f for p in posts for f in set(p.forms) if _WORD.fullmatch(f))
    limit = len(texts) // 50
    words = sorted(f for f, n in forms.items()
                   if n >= 2 and max(df[k] for k in rule_word_keys(f)) <= limit)
    ordered = sorted(forms)
    prefixes = set()
    for w in words:
        stem = w[:-2]
        if len(stem) >= 6:
            at = bisect.bisect_left(ordered, stem)
            total = 0
            while at < len(ordered) and ordered[at].startswith(stem) and total <= limit:
                total += forms[ordered[at]]
                at += 1
            if total <= limit:
                prefixes.add(stem)
    return words, sorted(prefixes)


def make_rules(texts: list[str], count: int, rng: random.Random) -> list[str]:
    """Rules of the kinds subscribers write, from words the posts really use."""
    vocab, prefixes = topical_words(texts)
    words = set(vocab)
    pairs = [tuple(m.lower() for m in _WORD.findall(t)[i:i + 2])
             for t in texts for i in range(0, 40, 7)]
    pairs = [p for p in pairs if len(p) == 2 and (p[0] in words or p[1] in words)]
    tags = sorted({m.lower() for t in texts for m in re.findall(r"#(\w+)", t)}) or ["новости"]

    def w() -> str:
        return rng.choice(vocab)

    kinds = [
        (40, lambda: w()),
        (18, lambda: f"{w()} OR {w()} OR {w()}"),
        (10, lambda: f"{w()} {w()}"),
        (8, lambda: '"{} {}"'.format(*rng.choice(pairs))),
        (7, lambda: f"from:{rng.choice(CHANNELS)} {w()}"),
        (5, lambda: f"{w()} -{w()}"),
        (4, lambda: f"{rng.choice(prefixes)}*"),
        (4, lambda: f"{_romanize(w())} OR {w()}"),
        (2, lambda: f"#{rng.choice(tags)}"),
        (2, lambda: rf"/\d+ {w()[:6]}/ OR ({w()} | {w()})"),
    ]
    weights = [k[0] for k in kinds]
    return [rng.choices(kinds, weights)[0][1]() for _ in range(count)]


def make_posts(texts: list[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    posts = []
    for i in range(count):
        text = texts[i % len(texts)]
        sentences = _SENTENCE.split(text)
        turn = (i // len(texts)) % max(1, len(sentences))
        posts.append((" ".join(sentences[turn:] + sentences[:turn]), rng.choice(CHANNELS)))
    return posts


_DISGUISED_WORD = re.compile(r"\b([А-Яа-яЁё]{2,})([А-Яа-яЁё]{2,})\b")


def disguise(text: str) -> str:
    """The text as a reposter dodging filters writes it: a soft hyphen inside every
    fourth long word, Latin о and е for Cyrillic ones, a stress mark on every tenth."""
    count = 0

    def word(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        head, tail = m.group(1), m.group(2)
        if count % 10 == 0:
            return f"{head}\u0301{tail}"
        if count % 4 == 0:
            return f"{head}\u00ad{tail}"
        return head + tail.replace("о", "o", 1).replace("е", "e", 1)

    return _DISGUISED_WORD.sub(word, text)


def run(quick: bool) -> list[Figure]:
    rng = random.Random(SEED)
    texts = _texts()
    n_rules, n_posts, n_naive = (1_000, 5_000, 100) if quick else (10_000, 100_000, 500)
    n_explained = n_posts // 10

    analyse("Загрузка словарей")                 # build the analysers outside the timing
    with timed() as cold:
        for text in texts:
            analyse(text)
    with timed() as warm:
        for text in texts:
            analyse(text)

    rule_texts = make_rules(texts, n_rules, rng)
    posts = make_posts(texts, n_posts, rng)
    rule_word_keys.cache_clear()              # compile as a bot starting up does: cold
    lemmas.cache_clear()
    with timed() as compiling:
        compiled = [compile_rule(r) for r in rule_texts]
    rules = RuleSet()
    for i, rule in enumerate(compiled):
        rules.add((i // 10, i), rule)          # 10 rules for each of n_rules / 10 subscribers

    matched = 0
    cpu = time.process_time()
    with timed() as indexed:
        for text, channel in posts:
            matched += len(rules.match(analyse(text, channel)))
    cpu = time.process_time() - cpu

    with timed() as explained:
        for text, channel in posts[:n_explained]:
            for _, m in rules.match(analyse(text, channel)):
                m.spans, m.reason  # noqa: B018 - work them out

    disguised = [(disguise(text), channel) for text, channel in posts[:n_explained]]
    found_plain = found_disguised = 0
    with timed() as plain_part:
        for text, channel in posts[:n_explained]:
            found_plain += len(rules.match(analyse(text, channel)))
    with timed() as disguised_part:
        for text, channel in disguised:
            found_disguised += len(rules.match(analyse(text, channel)))

    with timed() as naive:
        for text, channel in posts[:n_naive]:
            post = analyse(text, channel)
            for rule in compiled:
                rule.match(post)

    rate = n_posts / indexed.seconds
    what = (f"{n_rules:,} rules of {n_rules // 10:,} subscribers (compiled in "
            f"{compiling.seconds:.1f} s), {n_posts:,} posts, {matched / n_posts:.1f} "
            "matches per post")
    return [
        Figure(f"rules: match {n_rules:,} rules, analysis included", rate, "posts/s",
               ">= 4,000 posts/s on one core", rate >= 4_000 or quick,
               baseline=n_naive / naive.seconds,
               note=f"{what}; {n_posts / cpu:,.0f} posts per CPU second; baseline: every rule "
                    "evaluated on every post (no index)"),
        Figure("rules: match and explain every match (spans, reason)",
               n_explained / explained.seconds, "posts/s", "reported", True, baseline=rate,
               note="baseline: matching only; alerts explain one match per subscriber"),
        Figure("rules: match posts written in disguise (Latin о/е, soft hyphens, stress)",
               n_explained / disguised_part.seconds, "posts/s", "reported", True,
               baseline=n_explained / plain_part.seconds,
               note=f"{n_explained:,} posts, {found_disguised / n_explained:.1f} matches per "
                    f"post (as written: {found_plain / n_explained:.1f}); baseline: the same "
                    "posts as written"),
        Figure("rules: analyse a post (tokenise, lemmatise, romanize), cold word caches",
               len(texts) / cold.seconds, "posts/s", "reported", True,
               baseline=len(texts) / warm.seconds,
               note=f"the {len(texts):,} distinct texts; baseline: the same, warm caches"),
    ]
