"""Alert rules: a small query language over post text, as a pure functional core.

    rule = compile_rule("Курск OR Kursk -реклама")     # RuleSyntaxError if malformed
    post = analyse(text, channel="rybar", channel_id=1234)
    m = rule.match(post)                                # Match | None
    m.spans, m.reason                                   # what to bold, and why

    rules = RuleSet(); rules.add(rule_id, rule)
    rules.match(post)                                   # [(rule_id, Match), ...]

The language is described in docs/rules.md. Nothing here awaits, reads a clock
or touches the database; :mod:`bot.rules.trial` runs a rule over the stored log.
"""

from bot.rules.analysis import AnalysedText, analyse
from bot.rules.compiler import CompiledRule, compile_rule
from bot.rules.errors import RuleSyntaxError
from bot.rules.match import Hit, Match, Span
from bot.rules.parser import parse
from bot.rules.ruleset import RuleSet

__all__ = [
    "AnalysedText",
    "CompiledRule",
    "Hit",
    "Match",
    "RuleSet",
    "RuleSyntaxError",
    "Span",
    "analyse",
    "compile_rule",
    "parse",
]
