"""Many rules matched against one post at a time, through an index.

Each rule is filed under its ``index_keys``: keys one of which any post it matches must
have. For a post, only the rules filed under one of the post's keys are evaluated.
Prefix terms are found through a per-word cache and regexes through one RE2 set that
scans the text once for all of them, so neither costs a pass per rule.
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
_SET_SIZE = 100


class RuleSet:
    """Rules by id (any hashable: the caller maps ids to subscribers)."""

    def __init__(self) -> None:
        # Rules live in numbered slots, numbered in the order they were added: the index
        # holds slot numbers, which sort fast, so results come in that order.
        self._slots: dict[int, tuple[Hashable, CompiledRule, Any, bool]] = {}
        self._slot_of: dict[Hashable, int] = {}
        self._next_slot = 0
        self._index: dict[str, set[int]] = {}
        self._index_keys: set[str] = set()        # the index's keys, to intersect in C
        self._prefixes: Counter[str] = Counter()
        self._prefix_lengths: tuple[int, ...] = ()
        self._prefix_cache: dict[str, tuple[str, ...]] = {}
        self._regexes: Counter[str] = Counter()
        self._regex_scan: _RegexScan | None = None

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._slot_of

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._slot_of)

    def get(self, rule_id: Hashable) -> CompiledRule | None:
        slot = self._slot_of.get(rule_id)
        return None if slot is None else self._slots[slot][1]

    def add(self, rule_id: Hashable, rule: CompiledRule) -> None:
        """File ``rule`` under ``rule_id``, replacing the rule that id had."""
        self.remove(rule_id)
        slot = self._next_slot
        self._next_slot += 1
        self._slots[slot] = (rule_id, rule, rule.root, rule.exact)
        self._slot_of[rule_id] = slot
        for key in rule.index_keys:
            self._index.setdefault(key, set()).add(slot)
        self._index_keys.update(rule.index_keys)
        if rule.prefixes:
            self._prefixes.update(rule.prefixes)
            self._prefixes_changed()
        if rule.regexes:
            self._regexes.update(rule.regexes)
            self._regex_scan = None

    def remove(self, rule_id: Hashable) -> None:
        """Forget a rule; an unknown id is ignored."""
        slot = self._slot_of.pop(rule_id, None)
        if slot is None:
            return
        rule = self._slots.pop(slot)[1]
        for key in rule.index_keys:
            slots = self._index[key]
            slots.discard(slot)
            if not slots:
                del self._index[key]
                self._index_keys.discard(key)
        if rule.prefixes:
            self._prefixes.subtract(rule.prefixes)
            self._prefixes = +self._prefixes        # drop the zeros
            self._prefixes_changed()
        if rule.regexes:
            self._regexes.subtract(rule.regexes)
            self._regexes = +self._regexes
            self._regex_scan = None

    def _prefixes_changed(self) -> None:
        self._prefix_lengths = tuple(sorted({len(p) for p in self._prefixes}))
        self._prefix_cache.clear()

    def _prefix_keys(self, form: str) -> tuple[str, ...]:
        found = tuple("pre:" + form[:n] for n in self._prefix_lengths
                      if n <= len(form) and form[:n] in self._prefixes)
        if len(self._prefix_cache) >= _PREFIX_CACHE_LIMIT:
            self._prefix_cache.clear()
        self._prefix_cache[form] = found
        return found

    def keys_of(self, post: AnalysedText) -> frozenset[str]:
        """The post's keys plus those of the prefixes and regexes of these rules it has."""
        extra: set[str] = set()
        if self._prefixes:
            cache = self._prefix_cache
            for form in set(post.forms):
                found = cache.get(form)
                if found is None:
                    found = self._prefix_keys(form)
                if found:
                    extra.update(found)
        if self._regexes:
            if self._regex_scan is None:
                self._regex_scan = _RegexScan(list(self._regexes))
            extra.update(self._regex_scan.keys(post.regex_text))
            if post.normalised_regex_text is not None:
                extra.update(self._regex_scan.keys(post.normalised_regex_text))
        return post.keys | extra if extra else post.keys

    def match(self, post: AnalysedText) -> list[tuple[Hashable, Match]]:
        """``(rule id, match)`` of every rule that matches, in the order rules were added.
        The matches explain themselves (spans, reason) when asked."""
        keys = self.keys_of(post)
        index = self._index
        candidates: set[int] = set()
        for key in keys & self._index_keys:
            candidates |= index[key]
        found = []
        slots = self._slots
        for slot in sorted(candidates):
            rule_id, _, root, exact = slots[slot]
            # An exact rule holds for every post that has one of its index keys.
            if exact or root.holds(keys, post):
                found.append((rule_id, Match(root, keys, post)))
        return found


class _RegexScan:
    """Finds which of many regexes occur in a text: RE2 sets of up to ``_SET_SIZE``
    patterns, each scanning the text once. A group RE2 cannot compile together is split
    in two, down to patterns searched one by one."""

    def __init__(self, patterns: list[str]) -> None:
        options = regex_options()
        options.max_mem = _SET_MEMORY
        self.sets: list[tuple[Any, list[str]]] = []
        self.alone: list[tuple[Any, str]] = []
        todo = [patterns[i:i + _SET_SIZE] for i in range(0, len(patterns), _SET_SIZE)]
        while todo:
            group = todo.pop()
            regex_set = re2.Set.SearchSet(options)
            try:
                for pattern in group:
                    regex_set.Add(pattern)
                regex_set.Compile()
            except re2.error:
                if len(group) == 1:
                    self.alone.append((re2.compile(group[0], regex_options()), group[0]))
                else:
                    todo += [group[:len(group) // 2], group[len(group) // 2:]]
                continue
            self.sets.append((regex_set, group))

    def keys(self, text: str) -> list[str]:
        found = [f"re:{group[i]}" for regex_set, group in self.sets
                 for i in regex_set.Match(text) or ()]
        found += [f"re:{pattern}" for regex, pattern in self.alone if regex.search(text)]
        return found
