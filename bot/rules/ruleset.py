"""Many rules matched against one post at a time, through an index.

Each rule is filed under its ``index_keys``: keys one of which any post it matches must
have. For a post, only the rules filed under one of the post's keys are evaluated.
The rules a word form's keys and prefixes file are cached per form and the languages
the post was read in (its keys depend on nothing else), so a post's candidates are a
few lookups done in C; regexes are found through RE2 sets that scan the text once for
all of them, so none costs a pass per rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from typing import Any, cast

import re2

from bot.rules.analysis import AnalysedText
from bot.rules.compiler import CompiledRule
from bot.rules.match import Match
from bot.rules.parser import regex_options

_PREFIX_CACHE_LIMIT = 200_000
_FORM_CACHE_LIMIT = 200_000
_SET_MEMORY = 64 << 20
_SET_SIZE = 100


class RuleSet:
    """Rules by id (any hashable: the caller maps ids to subscribers)."""

    def __init__(self) -> None:
        # Rules live in numbered slots, numbered in the order they were added: the index
        # holds slot numbers, which sort fast, so results come in that order.
        # slot -> (rule id, rule, its root, exact, has prefixes or regexes)
        self._slots: dict[int, tuple[Hashable, CompiledRule, Any, bool, bool]] = {}
        self._slot_of: dict[Hashable, int] = {}
        self._next_slot = 0
        self._index: dict[str, set[int]] = {}
        self._prefixes: Counter[str] = Counter()
        self._prefix_lengths: tuple[int, ...] = ()
        self._prefix_cache: dict[str, tuple[str, ...]] = {}
        self._regexes: Counter[str] = Counter()
        self._regex_scan: _RegexScan | None = None
        # languages of a post -> form -> the slots the form's keys and prefixes file
        self._forms: dict[tuple[str, ...], dict[str, tuple[int, ...]]] = {}
        self._wide: set[int] = set()            # slots of rules with prefixes or regexes

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
        wide = bool(rule.prefixes or rule.regexes)
        self._slots[slot] = (rule_id, rule, rule.root, rule.exact, wide)
        self._slot_of[rule_id] = slot
        if wide:
            self._wide.add(slot)
        self._forms.clear()
        for key in rule.index_keys:
            self._index.setdefault(key, set()).add(slot)
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
        self._wide.discard(slot)
        self._forms.clear()
        for key in rule.index_keys:
            slots = self._index[key]
            slots.discard(slot)
            if not slots:
                del self._index[key]
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
        self._forms.clear()

    def _prefix_keys(self, form: str) -> tuple[str, ...]:
        found = tuple("pre:" + form[:n] for n in self._prefix_lengths
                      if n <= len(form) and form[:n] in self._prefixes)
        if len(self._prefix_cache) >= _PREFIX_CACHE_LIMIT:
            self._prefix_cache.clear()
        self._prefix_cache[form] = found
        return found

    def _post_prefix_keys(self, forms: tuple[str, ...]) -> list[str]:
        """The ``pre:`` keys of these rules' prefixes the words ``forms`` start with."""
        cache = self._prefix_cache
        out: list[str] = []
        for form in set(forms):
            found = cache.get(form)
            if found is None:
                found = self._prefix_keys(form)
            if found:
                out += found
        return out

    def keys_of(self, post: AnalysedText) -> frozenset[str]:
        """The post's keys plus those of the prefixes and regexes of these rules it has."""
        extra: set[str] = set()
        if self._prefixes:
            extra.update(self._post_prefix_keys(post.forms))
        if self._regexes:
            extra.update(self._regex_keys(post))
        return post.keys | extra if extra else post.keys

    def _regex_keys(self, post: AnalysedText) -> list[str]:
        """The keys of the regexes found in the texts regexes read of the post (as
        written, and normalised when that differs: bot.rules.analysis)."""
        if self._regex_scan is None:
            self._regex_scan = _RegexScan(list(self._regexes))
        found = self._regex_scan.keys(post.regex_text)
        if post.normalised_regex_text is not None:
            found += self._regex_scan.keys(post.normalised_regex_text)
        return found

    def _form_slots(self, form: str, word_keys: tuple[str, ...]) -> tuple[int, ...]:
        index = self._index
        prefix_keys = self._prefix_keys(form) if self._prefixes else ()
        return tuple(set().union(*[index[k] for k in (*word_keys, *prefix_keys)
                                   if k in index]))

    def match(self, post: AnalysedText) -> list[tuple[Hashable, Match]]:
        """``(rule id, match)`` of every rule that matches, in the order rules were added.
        The matches explain themselves (spans, reason) when asked."""
        # The rules filed under the post's words and their prefixes, from the cache of
        # the post's languages: looked up in C, worked out only for forms new to it ...
        forms = post.forms
        table = self._forms.get(post.languages)
        if table is None or len(table) >= _FORM_CACHE_LIMIT:
            table = self._forms[post.languages] = {}
        found = list(map(table.get, forms))
        if None in found:
            word_keys = post.word_keys
            for i, slots in enumerate(found):
                if slots is None:
                    form = forms[i]
                    slots = table.get(form)
                    if slots is None:
                        slots = table[form] = self._form_slots(form, word_keys[i])
                    found[i] = slots
        candidates: set[int] = set().union(*cast(list[tuple[int, ...]], found))
        # ... and under its other keys: channel, hashtags, regexes (the keys analysis
        # adds to the words' own, see bot.rules.analysis).
        index = self._index
        others = [f"#:{tag}" for _, _, tag in post.tags]
        if post.channel:
            others.append("ch:" + post.channel)
        if post.channel_id is not None:
            others.append(f"chid:{post.channel_id}")
        regex_keys = self._regex_keys(post) if self._regexes else []
        candidates.update(*[index[k] for k in (*others, *regex_keys) if k in index])
        # Rules with prefixes or regexes see the post's keys with those found in it; the
        # others, and every post without such rules among its candidates, its own keys
        # (no copy of a few hundred keys).
        keys = full = post.keys
        if not self._wide.isdisjoint(candidates):
            extra = set(regex_keys)
            if self._prefixes:
                extra.update(self._post_prefix_keys(forms))
            if extra:
                full = keys | extra
        # An exact rule holds for every post that has one of its index keys.
        return [(rule_id, Match(root, full if wide else keys, post))
                for rule_id, _, root, exact, wide in map(self._slots.__getitem__,
                                                         sorted(candidates))
                if exact or root.holds(full if wide else keys, post)]


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
        # RE2 reads UTF-8: encoding once spares the binding converting the text for
        # each set (no offsets are needed here, only which patterns occur).
        data = text.encode()
        found = [f"re:{group[i]}" for regex_set, group in self.sets
                 for i in regex_set.Match(data) or ()]
        found += [f"re:{pattern}" for regex, pattern in self.alone if regex.search(data)]
        return found
