"""Many rules matched against one post at a time, through an index.

Each rule is filed under its ``index_keys``: the keys one of which any post it matches
must have (:meth:`~bot.rules.compiler.CompiledRule` explains). For a post, only rules
filed under one of the post's keys are evaluated. Prefix terms are found through a
per-word cache and regexes through one RE2 set that scans the text once for all of
them, so neither costs a pass per rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from typing import Any

import re2

from bot.rules.analysis import AnalysedText
from bot.rules.compiler import CompiledRule
from bot.rules.match import Match
from bot.rules.parser import regex_options

_PREFIX_CACHE_LIMIT = 200_000
_SET_MEMORY = 64 << 20


class RuleSet:
    """Rules by id (any hashable: the caller maps ids to subscribers)."""

    def __init__(self) -> None:
        self._rules: dict[Hashable, CompiledRule] = {}
        self._order: dict[Hashable, int] = {}
        self._added = 0
        self._index: dict[str, set[Hashable]] = {}
        self._prefixes: Counter[str] = Counter()
        self._prefix_lengths: tuple[int, ...] = ()
        self._prefix_cache: dict[str, tuple[str, ...]] = {}
        self._regexes: Counter[str] = Counter()
        self._regex_set: Any = None
        self._regex_list: list[str] = []

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._rules)

    def get(self, rule_id: Hashable) -> CompiledRule | None:
        return self._rules.get(rule_id)

    def add(self, rule_id: Hashable, rule: CompiledRule) -> None:
        """File ``rule`` under ``rule_id``, replacing the rule that id had."""
        if rule_id in self._rules:
            self.remove(rule_id)
        self._rules[rule_id] = rule
        self._order[rule_id] = self._added
        self._added += 1
        for key in rule.index_keys:
            self._index.setdefault(key, set()).add(rule_id)
        if rule.prefixes:
            self._prefixes.update(rule.prefixes)
            self._prefixes_changed()
        if rule.regexes:
            self._regexes.update(rule.regexes)
            self._regex_set = None

    def remove(self, rule_id: Hashable) -> None:
        """Forget a rule; an unknown id is ignored."""
        rule = self._rules.pop(rule_id, None)
        if rule is None:
            return
        del self._order[rule_id]
        for key in rule.index_keys:
            ids = self._index[key]
            ids.discard(rule_id)
            if not ids:
                del self._index[key]
        if rule.prefixes:
            self._prefixes.subtract(rule.prefixes)
            self._prefixes = +self._prefixes        # drop the zeros
            self._prefixes_changed()
        if rule.regexes:
            self._regexes.subtract(rule.regexes)
            self._regexes = +self._regexes
            self._regex_set = None

    def _prefixes_changed(self) -> None:
        self._prefix_lengths = tuple(sorted({len(p) for p in self._prefixes}))
        self._prefix_cache.clear()

    def _prefix_keys(self, form: str) -> tuple[str, ...]:
        found = self._prefix_cache.get(form)
        if found is None:
            found = tuple("pre:" + form[:n] for n in self._prefix_lengths
                          if n <= len(form) and form[:n] in self._prefixes)
            if len(self._prefix_cache) >= _PREFIX_CACHE_LIMIT:
                self._prefix_cache.clear()
            self._prefix_cache[form] = found
        return found

    def _regex_keys(self, text: str) -> list[str]:
        if self._regex_set is None:
            options = regex_options()
            options.max_mem = _SET_MEMORY
            regex_set = re2.Set.SearchSet(options)
            self._regex_list = list(self._regexes)
            for pattern in self._regex_list:
                regex_set.Add(pattern)
            regex_set.Compile()
            self._regex_set = regex_set
        found = self._regex_set.Match(text) or ()
        return ["re:" + self._regex_list[i] for i in found]

    def keys_of(self, post: AnalysedText) -> frozenset[str]:
        """The post's keys plus those of the prefixes and regexes of these rules it has."""
        extra: set[str] = set()
        if self._prefixes:
            for form in {w.form for w in post.words}:
                extra.update(self._prefix_keys(form))
        if self._regexes:
            extra.update(self._regex_keys(post.folded))
        return post.keys | extra if extra else post.keys

    def match(self, post: AnalysedText) -> list[tuple[Hashable, Match]]:
        """``(rule id, match)`` of every rule that matches, in the order rules were added."""
        keys = self.keys_of(post)
        index = self._index
        candidates: set[Hashable] = set()
        for key in keys:
            ids = index.get(key)
            if ids:
                candidates |= ids
        found = []
        rules = self._rules
        for rule_id in candidates:
            m = rules[rule_id].match_keys(keys, post)
            if m is not None:
                found.append((rule_id, m))
        found.sort(key=lambda item: self._order[item[0]])
        return found
