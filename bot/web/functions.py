"""tgmon's SQL functions on Datasette's connections.

- ``tgmon_search_text(text)``: the normalisation the full-text index holds
  (:func:`storage.normalise.search_text`), as on tgmon's own connections.
- ``escape_fts(query)``: Datasette wraps what people type into its search box with this
  function; here it becomes the query ``tgmon export --search`` runs
  (:func:`storage.export.fts_query`: every word, any case, ё = е, ``word*`` a prefix), so
  a search in the browser finds what the export finds.
- ``tgmon_rule_match(rule, text, username, channel_id)``: why tgmon's own matcher
  (:mod:`bot.rules`) matches a post's text with a rule, or NULL.
- ``tgmon_rule_error(rule)``: what is wrong with a rule, or NULL.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache

from bot.rules import RuleSyntaxError, analyse, compile_rule
from bot.rules.compiler import CompiledRule
from storage.export import ExportOptionError, fts_query
from storage.normalise import SEARCH_FUNCTION, search_text

# FTS5 query that matches nothing: a search with no word in it finds no post.
_NOTHING = '""'


@lru_cache(maxsize=64)
def _compiled(rule: str) -> CompiledRule | RuleSyntaxError:
    try:
        return compile_rule(rule)
    except RuleSyntaxError as e:
        return e


def rule_error(rule: str | None) -> str | None:
    """What is wrong with ``rule`` (None: it compiles)."""
    if rule is None or not rule.strip():
        return "type a rule, e.g. Тёткино OR Tyotkino (the language: docs/rules.md)"
    found = _compiled(" ".join(rule.split()))
    if isinstance(found, RuleSyntaxError):
        return f"the rule has a problem: {found.message}: {found.pointer()}"
    return None


def rule_match(rule: str | None, text: str | None, username: str | None,
               channel_id: int | None) -> str | None:
    """Why ``rule`` matches this post (the reason an alert shows), or None."""
    if rule is None or text is None or not rule.strip():
        return None
    compiled = _compiled(" ".join(rule.split()))
    if isinstance(compiled, RuleSyntaxError):
        return None
    found = compiled.match(analyse(text, channel=username, channel_id=channel_id))
    return None if found is None else found.reason


def search_query(text: str | None) -> str:
    """The FTS5 query for what someone typed into the search box."""
    try:
        return fts_query(text or "")
    except ExportOptionError:
        return _NOTHING


def register(conn: sqlite3.Connection) -> None:
    conn.create_function(SEARCH_FUNCTION, 1, search_text, deterministic=True)
    conn.create_function("escape_fts", 1, search_query, deterministic=True)
    conn.create_function("tgmon_rule_match", 4, rule_match, deterministic=True)
    conn.create_function("tgmon_rule_error", 1, rule_error, deterministic=True)
