"""Matching: phrases, prefixes, hashtags, channels, regexes, negation, the spans and
reason a match reports, the RuleSet index, and real news posts."""

from __future__ import annotations

import json
import random

import pytest

from bot.rules import RuleSet, analyse, compile_rule, parse
from tests.exportkit import NEWS, shared


def match(rule: str, text: str, channel: str | None = None, channel_id: int | None = None):
    return compile_rule(rule).match(analyse(text, channel=channel, channel_id=channel_id))


def bold(text: str, rule: str, **kw) -> list[str]:
    m = match(rule, text, **kw)
    assert m is not None
    return [text[s:e] for s, e in m.spans]


@pytest.mark.parametrize(("rule", "text", "expected"), [
    ('"Курская область"', "Курская область, Суджа", True),
    ('"курская область"', "КУРСКАЯ, область", True),               # punctuation between
    ('"Курская область"', "в Курской области", False),              # exact forms only
    ('"Курская область"', "область Курская", False),                # in that order
    ('"Курская область"', "Курская и Белгородская область", False),  # adjacent
    ('"Зелёный Шлях"', "хутор Зеленый Шлях", True),                 # ё folded
    ('"Курська область"', "Курська область під обстрілом", True),
    ('"Курська область"', "Курської області", False),
    ('"Kursk region"', "fighting in the Kursk Region", True),
    ('"Kursk region"', "the region of Kursk", False),
    ('"танк"', "танки", False),                                     # one word, exact
])
def test_phrases_match_exact_words_in_order(rule, text, expected):
    assert (match(rule, text) is not None) is expected


@pytest.mark.parametrize(("rule", "text", "expected"), [
    ("танк*", "танкер", True),
    ("танк*", "Танки", True),
    ("танк*", "тактика", False),
    ("обстріл*", "обстрілювали", True),
    ("cross*", "Crossing", True),
    ("cross*", "across", False),
])
def test_prefixes_match_words_that_begin_so(rule, text, expected):
    assert (match(rule, text) is not None) is expected


@pytest.mark.parametrize(("rule", "text", "expected"), [
    ("#Курск", "Новости #курск", True),
    ("#Курск", "Новости из Курска", False),            # a word is not a hashtag
    ("#Курск", "#Курская_область", False),
    ("#Курщина", "#Курщина: обстріл", True),
    ("#breaking", "#BREAKING: drones", True),
    ("#Курська_область", "#курська_область", True),
])
def test_hashtags_match_hashtags(rule, text, expected):
    assert (match(rule, text) is not None) is expected


def test_a_hashtag_word_still_counts_as_a_word():
    assert bold("Новости #Курск", "Курск") == ["Курск"]
    assert bold("Новости #Курск", "#Курск") == ["#Курск"]


@pytest.mark.parametrize(("rule", "channel", "channel_id", "expected"), [
    ("from:rybar Курск", "rybar", 1, True),
    ("from:@rybar Курск", "Rybar", 1, True),
    ("from:RYBAR Курск", "@rybar", 1, True),
    ("from:rybar Курск", "wargonzo", 2, False),
    ("from:1234 Курск", None, 1234, True),
    ("from:-1001234 Курск", "rybar", 1234, True),
    ("from:1234 Курск", "rybar", 99, False),
    ("Курск -from:rybar", "rybar", 1, False),
    ("Курск -from:rybar", "vvgladkov", 2, True),
])
def test_from_restricts_to_a_channel(rule, channel, channel_id, expected):
    m = match(rule, "Обстрел Курска", channel=channel, channel_id=channel_id)
    assert (m is not None) is expected


@pytest.mark.parametrize(("rule", "text", "expected"), [
    (r"/\d+ БПЛА/", "Сбиты 12 БПЛА над Курской областью", True),
    (r"/\d+ бпла/", "Сбиты 12 БПЛА", True),                   # case-insensitive
    (r"/\d+ БПЛА/", "Сбиты БПЛА", False),
    ("/Тёткин[оеа]/", "у Теткине", True),                     # ё folded both sides
    ("/Теткин[оеа]/", "у Тёткине", True),
    (r"/\bcross\b/", "they cross here", True),           # \b knows Latin letters only
    (r"/(?-i)Kursk/", "kursk", False),                         # RE2 flags still work
    (r"/\pL+ск\b/", "Курск", False),                            # \b is ASCII-only
    (r"/бой \pL+/", "бой местного значения", True),
    (r"/drones? (over|near) \w+/", "Drones over Belgorod", True),
])
def test_regexes_use_re2(rule, text, expected):
    assert (match(rule, text) is not None) is expected


def test_a_pathological_regex_returns_promptly_with_the_right_answer():
    # (a+)+$ backtracks exponentially in engines that backtrack; RE2 is linear.
    text = "a" * 50_000 + "b"
    assert match("/(a+)+$/", text) is None
    assert match("/(a+)+b$/", text) is not None
    assert match("/(x+x+)+y/", "x" * 10_000) is None


@pytest.mark.parametrize(("rule", "text", "expected"), [
    ("Курск -танк", "Обстрел Курска", True),
    ("Курск -танк", "Танки в Курске", False),              # excludes every form
    ("Курск NOT танк", "Танки в Курске", False),
    ("Курськ -дрон", "Дрони над Курськом", False),
    ("Kursk -drone", "Drones over Kursk", False),
    ("Kursk -drone", "Shelling of Kursk", True),
    ("Курск -(танк OR дрон)", "дроны над Курском", False),
    ("Тёткино OR Tyotkino", "Бой у Тёткине", True),
    ("Тёткино | Глушково", "в Глушкове", True),
    ("курск танк", "Курск", False),                          # all words must match
    ("курск танк", "Танк у Курска", True),
    ("бій OR обстріл Курщина", "Обстріл на Курщині", True),
    ("бій OR обстріл Курщина", "Обстріл Харкова", False),
])
def test_and_or_and_not_combine_as_written(rule, text, expected):
    assert (match(rule, text) is not None) is expected


def test_spans_are_string_indices_of_the_words_that_matched():
    text = "🔥 Бои у Тёткине и в Курской области; танкер не пострадал."
    m = match("(Тёткино OR Курск) бой -Суджа", text)
    assert m is not None
    assert [text[s:e] for s, e in m.spans] == ["Бои", "Тёткине", "Курской"]
    assert m.spans[0] == (2, 5)                  # the emoji is one index, as in Python


def test_spans_cover_phrases_hyphenated_words_prefixes_and_regexes():
    text = "Санкт-Петербург: 5 БПЛА над Курской областью, танкисты"
    assert bold(text, "Санкт-Петербург") == ["Санкт-Петербург"]
    assert bold(text, '"курской областью"') == ["Курской областью"]
    assert bold(text, "танк*") == ["танкисты"]
    assert bold(text, r"/\d+ бпла/") == ["5 БПЛА"]
    assert bold(text, "Курск OR Суджа") == ["Курской"]           # only what held


def test_the_reason_says_which_terms_found_what():
    m = match("(Курск OR Суджа) from:rybar", "В Курске и Курской области", channel="rybar")
    assert m is not None
    assert m.reason == "Курск (Курске, Курской); from:rybar"
    assert [h.term for h in m.hits] == ["Курск", "from:rybar"]


def test_ruleset_matches_like_each_rule_alone():
    rules = {
        "tyotkino": compile_rule("Тёткино OR Tyotkino"),
        "kursk_no_tanks": compile_rule("Курск -танк"),
        "rybar": compile_rule("from:rybar бой"),
        "phrase": compile_rule('"Курская область"'),
        "prefix": compile_rule("обстрел*"),
        "regex": compile_rule(r"/\d+ БПЛА/"),
        "tag": compile_rule("#Курск"),
    }
    ruleset = RuleSet()
    for rule_id, rule in rules.items():
        ruleset.add(rule_id, rule)
    texts = ["Бои у Тёткине", "Курская область: танки", "Курская область: 5 БПЛА",
             "Обстреляли #Курск", "Бой в Белгороде", "ничего"]
    for text in texts:
        for channel in ("rybar", "wargonzo"):
            post = analyse(text, channel=channel)
            expected = [i for i, r in rules.items() if r.match(post) is not None]
            assert [i for i, _ in ruleset.match(post)] == expected


def test_ruleset_add_replaces_and_remove_forgets():
    ruleset = RuleSet()
    ruleset.add(("alice", 1), compile_rule("Курск"))
    ruleset.add(("bob", 1), compile_rule(r"/\d+ БПЛА/ OR обстрел*"))
    post = analyse("Обстрел Курска: 5 БПЛА")
    assert [i for i, _ in ruleset.match(post)] == [("alice", 1), ("bob", 1)]
    ruleset.add(("alice", 1), compile_rule("Белгород"))
    assert [i for i, _ in ruleset.match(post)] == [("bob", 1)]
    ruleset.remove(("bob", 1))
    ruleset.remove(("nobody", 0))
    assert ruleset.match(post) == []
    assert len(ruleset) == 1 and ("alice", 1) in ruleset
    assert ruleset.match(analyse("Обстрел Белгорода"))[0][0] == ("alice", 1)


def test_ruleset_caches_follow_rules_added_and_removed_after_matching():
    # The RuleSet caches, per word form, the rules it files and the keys of it the rules
    # look for (a post's keys are read no further). Each change of the rules must reach
    # the posts matched next, whatever was cached while matching the ones before.
    posts = [analyse(t, channel=c) for t, c in (
        ("Танки у Курска", "rybar"), ("Обстрел Курска", "wargonzo"),
        ("Танкисты под Курском, бой", "rybar"), ("Курская область: 5 БПЛА", "mash"))]
    steps = [
        ("add", "a", "Курск"),
        ("add", "b", "Курск -танк"),                # танк: a key no rule looked for yet
        ("add", "c", "курск бой"),                  # decided by a second key
        ("add", "d", "from:rybar Курск"),
        ("add", "e", "танк*"),                      # prefixes file words anew
        ("add", "f", '"курская область"'),
        ("add", "g", r"/\d+ БПЛА/ курск"),
        ("remove", "b", ""),                        # танк read by танк* alone now
        ("add", "a", "Курск -бой"),                 # replaced under the same id
        ("remove", "e", ""),
        ("add", "h", "танк OR бой"),
        ("remove", "a", ""),
        ("remove", "c", ""),
    ]
    ruleset = RuleSet()
    rules: dict[str, object] = {}
    for action, rule_id, text in steps:
        if action == "add":
            rules[rule_id] = compile_rule(text)
            ruleset.add(rule_id, rules[rule_id])
        else:
            del rules[rule_id]
            ruleset.remove(rule_id)
        for post in posts:
            expected = [(i, r.match(post)) for i, r in rules.items()]
            expected = [(i, m) for i, m in expected if m is not None]
            got = ruleset.match(post)
            assert sorted(i for i, _ in got) == sorted(i for i, _ in expected), (action, text)
            alone = dict(expected)
            assert [(m.spans, m.reason) for _, m in got] == [
                (alone[i].spans, alone[i].reason) for i, _ in got]
    assert [i for i, _ in ruleset.match(posts[2])] == ["d", "h"]


def test_ruleset_matches_in_comments_rules_on_comments_like_each_rule_alone():
    rules = {"any": compile_rule("in:comments"), "kursk": compile_rule("in:comments Курск"),
             "post": compile_rule("Курск")}
    ruleset = RuleSet()
    for rule_id, rule in rules.items():
        ruleset.add(rule_id, rule)
    comment = analyse("А что в Курске?", channel="rybar", comment=True)
    post = analyse("А что в Курске?", channel="rybar")
    assert [i for i, _ in ruleset.match(comment)] == ["any", "kursk", "post"]
    assert [i for i, _ in ruleset.match(post)] == ["post"]
    assert "in:comments" in comment.keys and "in:comments" not in post.keys


def test_analysed_keys_are_every_word_key_and_the_posts_own():
    post = analyse("Танки у Курска #сводка", channel="@Rybar", channel_id=12)
    assert post.keys == frozenset().union(*post.word_keys) | {"#:сводка", "ch:rybar", "chid:12"}
    assert {"w:танки", "ru:курск", "w:сводка"} <= post.keys
    assert post.post_keys == {"#:сводка", "ch:rybar", "chid:12"}


def test_ruleset_regexes_too_heavy_to_scan_together_still_match():
    # Each pattern compiles alone; RE2 cannot build one set of them all, so the set is
    # split until it can.
    patterns = [rf"/(\pL+){{2,20}}x{i}(\d+|\pL){{3,30}}y/" for i in range(30)]
    ruleset = RuleSet()
    for i, pattern in enumerate(patterns):
        ruleset.add(i, compile_rule(pattern))
    ruleset.add("kursk", compile_rule("/курск/"))
    post = analyse("абв где " * 50 + " абвгx7123y в Курске")
    assert [i for i, _ in ruleset.match(post)] == [7, "kursk"]


@pytest.fixture(scope="module")
def news() -> dict[tuple[int, int], str]:
    with shared(NEWS).open(encoding="utf-8") as f:
        return {(p["sender_id"], p["message_id"]): p["text"] for p in map(json.loads, f)}


MASH_KURSK = (-1001117628569, 58594)   # Mash, 2024: Судже, Суджа, Тёткино, Глушковском
# The project's own text with the same words in the same forms.
OWN_KURSK = ("Губернатор: в Судже и Тёткино продолжаются бои, ДРГ противника пыталась "
             "войти в село в Глушковском районе Курской области. Суджа под обстрелом, "
             "эвакуированы 20 человек. Трасса «Зелёный Шлях» перекрыта; жителей Курского "
             "района просят оставаться в укрытиях.")
POST_RULES = [
    ("Тёткино", ["Тёткино"]),
    ("Tyotkino OR Tetkino", ["Тёткино"]),
    ("Суджа", ["Судже", "Суджа"]),
    ("Glushkovo", ["Глушковском"]),
    ("Курск", ["Курской", "Курского"]),
    ('"Зелёный Шлях"', ["Зелёный Шлях"]),
    ("from:mash ДРГ -танк", ["ДРГ"]),
    (r"/\d+ человек/", ["20 человек"]),
]


def assert_finds(text: str, rule: str, found: list[str]) -> None:
    m = compile_rule(rule).match(analyse(text, channel="mash"))
    assert m is not None
    assert sorted({text[s:e] for s, e in m.spans}) == sorted(found)


@pytest.mark.parametrize(("rule", "found"), POST_RULES)
def test_rules_find_their_words_in_a_news_post(rule, found):
    assert_finds(OWN_KURSK, rule, found)


@pytest.mark.parametrize(("rule", "found"), POST_RULES)
def test_rules_find_their_words_in_a_real_post(news, rule, found):
    assert_finds(news[MASH_KURSK], rule, found)


def test_real_posts_ruleset_agrees_with_rules_alone(news):
    # Rules built from the posts' own words, every kind of term: the index must never
    # lose a match nor invent one.
    rng = random.Random(5)
    texts = list(news.values())
    words = sorted({f for t in texts[:300] for f in analyse(t).forms
                    if f.isalpha() and len(f) > 4})
    makers = [
        lambda: rng.choice(words),
        lambda: f"{rng.choice(words)} OR {rng.choice(words)}",
        lambda: f"{rng.choice(words)} {rng.choice(words)}",
        lambda: f"{rng.choice(words)} -{rng.choice(words)}",
        lambda: f"{rng.choice(words)[:5]}*",
        lambda: f"from:mash {rng.choice(words)}",
        lambda: '"{} {}"'.format(*rng.choice(
            [p for t in texts[:50] if len(p := analyse(t).forms[:2]) == 2])),
        lambda: rf"/{rng.choice(words)[:4]}\w+/",
    ]
    rules = {i: compile_rule(rng.choice(makers)()) for i in range(300)}
    ruleset = RuleSet()
    for i, rule in rules.items():
        ruleset.add(i, rule)
    total = 0
    for k, text in enumerate(texts[:400]):
        post = analyse(text, channel="mash" if k % 2 else "rian_ru")
        expected = [i for i, r in rules.items() if r.match(post) is not None]
        got = ruleset.match(post)
        assert [i for i, _ in got] == expected
        for _, m in got:
            assert m.spans or m.hits          # every match explains itself
        total += len(expected)
    assert total > 100                        # the rules did match things


def test_every_example_of_the_help_parses():
    from bot.rules.help import RULES_HELP

    examples = ["курск танк", "Курск OR Kursk", "Курск | Суджа", "-реклама", "NOT реклама",
                "(Суджа OR Тёткино) бой", '"Курская область"', "обстрел*", "#сводка",
                "from:rybar", "from:@rybar", r"/\d+ БПЛА/", "Tyotkino", "Kharkiv",
                "a b OR c"]
    for example in examples:
        assert example in RULES_HELP
        parse(example)
    assert match("Tyotkino", "Тёткино") and match("Kharkiv", "Харків")


def test_one_ruleset_reads_a_word_in_each_posts_languages():
    # The RuleSet caches the rules a word form files per the languages the post was
    # read in: "танки" in a Ukrainian post may be the dance (танок), in a Russian one not.
    ruleset = RuleSet()
    ruleset.add("dance", compile_rule("танок"))
    ruleset.add("tank", compile_rule("танк"))
    posts = [analyse("Танки і бої біля Курщини"), analyse("Танки и бои, ещё один"),
             analyse("Танки і бої біля Курщини"), analyse("Танки у Тёткино")]
    assert [p.languages for p in posts[:2]] == [("uk",), ("ru",)]
    for post in posts:
        expected = [i for i, r in (("dance", compile_rule("танок")),
                                   ("tank", compile_rule("танк"))) if r.match(post)]
        assert [i for i, _ in ruleset.match(post)] == expected
    assert [i for i, _ in ruleset.match(posts[0])] == ["dance", "tank"]
    assert [i for i, _ in ruleset.match(posts[1])] == ["tank"]
