"""A huge or long-winded rule is not echoed back in full: the error shows a window of
the rule around the caret, and quotes at most a short piece of it."""

from __future__ import annotations

import os

import pytest
from clikit import cli

from bot.rules import RuleSyntaxError, compile_rule


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("rule", [
    "курск (" + "а" * 100_000,                       # 100 KB: too long
    "курск " + "б " * 400 + "(",                       # within the limit, error at the end
    "/" + "в" * 400 + "/",                             # a regex over its limit
    "курск " + "!" * 900,                              # a long token that is not a word
    "from:" + "x" * 900,                               # a long channel that is not one
])
def test_the_error_of_a_long_rule_is_short(capsys, tmp_path, rule):
    code, out, err = cli(capsys, "rules", "test", rule, "--db", str(tmp_path / "none.db"))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("tgmon: error: ")
    assert len(err) < 400, err
    assert all(len(line) <= 200 for line in lines)


def test_the_caret_stays_under_the_faulty_column_in_the_window():
    rule = "курск " + "танк " * 100 + "(бой"
    with pytest.raises(RuleSyntaxError) as info:
        compile_rule(rule)
    text, caret = info.value.pointer().splitlines()
    assert caret.endswith("^")
    at = len(caret) - 1
    assert text[at] == "("                     # the unclosed parenthesis, in the window
    assert text.startswith("…") and len(text) <= 90
    short = "курск (танк"
    with pytest.raises(RuleSyntaxError) as info:
        compile_rule(short)
    assert info.value.pointer() == "курск (танк\n      ^"     # short rules are shown whole
