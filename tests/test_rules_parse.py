"""The rule language's syntax: precedence, every kind of term, and positioned errors."""

from __future__ import annotations

import pytest

from bot.rules import RuleSyntaxError, compile_rule, parse
from bot.rules.nodes import And, From, Not, Or, Phrase, Prefix, Regex, Tag, Word


def w(text: str) -> Word:
    return Word(text)


@pytest.mark.parametrize(("rule", "tree"), [
    ("курск танк", And((w("курск"), w("танк")))),
    ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
    ("a | b", Or((w("a"), w("b")))),
    ("a|b", Or((w("a"), w("b")))),
    ("a AND b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("(a OR b) c", And((Or((w("a"), w("b"))), w("c")))),
    ("NOT a b", And((Not(w("a")), w("b")))),
    ("-a OR b", Or((Not(w("a")), w("b")))),
    ("b -(a OR c)", And((w("b"), Not(Or((w("a"), w("c"))))))),
    ("NOT NOT a", Not(Not(w("a")))),
    # Only uppercase OR, AND, NOT are operators.
    ("tank or drone", And((w("tank"), w("or"), w("drone")))),
    ("бій and not", And((w("бій"), w("and"), w("not")))),
])
def test_precedence_not_binds_tighter_than_and_than_or(rule, tree):
    assert parse(rule) == tree


@pytest.mark.parametrize(("rule", "term"), [
    ('"Курская область"', Phrase(("курская", "область"))),
    ("«Курська область»", Phrase(("курська", "область"))),
    ("“Belgorod region”", Phrase(("belgorod", "region"))),
    ('"Зелёный Шлях"', Phrase(("зеленый", "шлях"))),
    ("танк*", Prefix("танк")),
    ("Обстріл*", Prefix("обстріл")),
    ("CROSS*", Prefix("cross")),
    ("#Курск", Tag("курск")),
    ("#Курська_область", Tag("курська_область")),
    ("#breaking", Tag("breaking")),
    ("from:rybar", From(username="rybar")),
    ("from:@Rybar", From(username="rybar")),
    ("FROM:https://t.me/gubernator_46", From(username="gubernator_46")),
    ("from:1259695380", From(channel_id=1259695380)),
    ("from:-1001259695380", From(channel_id=1259695380)),
    (r"/\d+ БПЛА/", Regex(r"\d+ БПЛА")),
    (r"/a\/b/", Regex(r"a\/b")),
    ("/Тёткин[оеа]/", Regex("Теткин[оеа]")),       # ё written е, as the text is read
    ("Санкт-Петербург", Word("Санкт-Петербург")),
])
def test_each_kind_of_term(rule, term):
    assert parse(rule) == term


@pytest.mark.parametrize("rule", [
    "курск танк", "a OR b c", "(a OR b) c", "-(a OR b) c", '"Курская область" #Курск',
    "from:rybar танк* -реклама", r"/\d+ БПЛА/ OR Тёткино", "NOT (a | b) c",
])
def test_a_tree_writes_back_as_an_equivalent_rule(rule):
    tree = parse(rule)
    assert parse(str(tree)) == tree


@pytest.mark.parametrize(("rule", "column", "message"), [
    ("", 1, "empty rule"),
    ("   ", 1, "empty rule"),
    ("курск (танк OR бой", 7, "unclosed parenthesis opened at column 7"),
    ("((a) b", 1, "unclosed parenthesis opened at column 1"),
    ("курск OR танк OR", 15, "empty alternative after OR at column 15"),
    ("a OR OR b", 3, "empty alternative after OR at column 3"),
    ("(a | ) b", 4, "empty alternative after | at column 4"),
    ("OR курск", 1, "OR at column 1 has nothing before it"),
    ("a (OR b)", 4, "OR at column 4 has nothing before it"),
    ("курск NOT", 7, "NOT at column 7 has nothing after it"),
    ("курск NOT OR бій", 7, "NOT at column 7 has nothing after it"),
    ("a AND", 3, "AND at column 3 has nothing after it"),
    ("AND a", 1, "AND at column 1 has nothing before it"),
    ("курск - танк", 7, "'-' at column 7 excludes nothing"),
    ("a)", 2, "unmatched ')' at column 2"),
    ("() a", 1, "empty parentheses at column 1"),
    ('танк "Курская область', 6, "unterminated phrase: the quote at column 6 is never closed"),
    ('a ""', 3, "empty phrase at column 3"),
    ("a /b", 3, "unterminated regex: the / at column 3"),
    ("//", 1, "empty regex at column 1"),
    ("/(a/", 2, "invalid regex at column 2: missing )"),
    ("ab /x)y/", 6, "invalid regex at column 6: unexpected )"),
    ("/a**/", 3, "invalid regex at column 3: bad repetition operator"),
    ("/(?<=a)b/", 2, "invalid regex at column 2: invalid perl operator"),
    ("/a{1001}/", 3, "invalid regex at column 3: invalid repetition size"),
    ("/x*/", 1, "matches empty text"),
    ("т*", 1, "prefix at column 1 is too short"),
    ("ta*nk", 3, "'*' at column 3: a wildcard goes at the end of a word"),
    ("Санкт-Пет*", 1, "prefix at column 1 must be one word"),
    ("a #", 3, "hashtag at column 3 needs letters or digits"),
    ("курск , танк", 7, "',' at column 7 is not a word"),
    ("from: rybar", 1, "from: at column 1 needs a channel right after it"),
    ("a from:x!", 3, "'x!' is not a channel username or id"),
])
def test_malformed_rules_name_the_problem_and_its_column(rule, column, message):
    with pytest.raises(RuleSyntaxError) as caught:
        parse(rule)
    assert caught.value.column == column
    assert message in str(caught.value)


@pytest.mark.parametrize(("rule", "column"), [
    ("-танк", 1), ("NOT курск", 1), ("курск OR -танк", 10), ("a OR (b OR NOT c)", 12),
    ("-from:rybar", 1),
])
def test_a_rule_that_only_excludes_is_refused(rule, column):
    with pytest.raises(RuleSyntaxError, match="only excludes") as caught:
        compile_rule(rule)
    assert caught.value.column == column


def test_the_error_can_point_at_its_column():
    with pytest.raises(RuleSyntaxError) as caught:
        parse("курск (танк OR бой")
    assert caught.value.pointer() == "курск (танк OR бой\n      ^"


def test_too_long_rules_and_regexes_are_refused():
    with pytest.raises(RuleSyntaxError, match="too long"):
        parse("курск " * 200)
    with pytest.raises(RuleSyntaxError, match="regex at column 1 is too long"):
        parse("/" + "a" * 301 + "/")


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(RuleSyntaxError, match="nests too deeply"):
        parse("(" * 60 + "a" + ")" * 60)
    with pytest.raises(RuleSyntaxError, match="nests too deeply"):
        parse("NOT " * 60 + "a")
