"""Many rules matched against one post at a time, through an index.

Each rule is filed under its ``index_keys``: keys one of which any post it matches must
have. For a post, only the rules filed under one of the post's keys are evaluated.
What a word form gives (the rules its keys and prefixes file, and the few of its keys
some rule looks for) is cached per form and the languages the post was read in (its
keys depend on nothing else), so a post's candidates are a few lookups done in C and
its keys are read only as far as the rules look: no set of all of them is built. Exact
rules match on being filed; the others are sifted in C by one more key they need
(:meth:`CompiledRule.then`) before any is evaluated. Regexes are found through RE2
sets that scan the text once for all of them, so none costs a pass per rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from itertools import compress, repeat
from operator import not_
from typing import Any

import re2

from bot.rules.analysis import AnalysedText
from bot.rules.compiler import CompiledRule
from bot.rules.match import Match
from bot.rules.parser import regex_options

_FORM_CACHE_LIMIT = 200_000
_SET_MEMORY = 64 << 20
_SET_SIZE = 100


class RuleSet:
    """Rules by id (any hashable: the caller maps ids to subscribers)."""

    def __init__(self) -> None:
        # Rules live in numbered slots, numbered in the order they were added: the index
        # holds slot numbers, which sort fast, so results come in that order.
        self._slots: dict[int, tuple[Hashable, CompiledRule]] = {}
        self._slot_of: dict[Hashable, int] = {}
        self._ids: dict[int, Hashable] = {}
        self._roots: dict[int, Any] = {}
        self._exact: set[int] = set()           # slots of rules that hold given a key
        # The others: keys a post must have too (rule.then), and the slots of the rules
        # that having them decides.
        self._then: dict[int, frozenset[str]] = {}
        self._sure: set[int] = set()
        self._next_slot = 0
        self._index: dict[str, set[int]] = {}
        # Every key some rule looks for: a post's keys are read only as far as these.
        self._reads: Counter[str] = Counter()
        self._prefixes: Counter[str] = Counter()
        self._prefix_lengths: tuple[int, ...] = ()
        self._regexes: Counter[str] = Counter()
        self._regex_scan: _RegexScan | None = None
        # languages of a post -> form -> what its keys and prefixes give: () or
        # (exact rules' slots, other slots, the keys of it the rules look for)
        self._forms: dict[tuple[str, ...], dict[str, _FormEntry]] = {}

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
        self._slots[slot] = (rule_id, rule)
        self._slot_of[rule_id] = slot
        self._ids[slot] = rule_id
        self._roots[slot] = rule.root
        if rule.exact:
            self._exact.add(slot)
        else:
            then, sure = rule.then()
            self._then[slot] = rule.index_keys if then is None else then
            if sure:
                self._sure.add(slot)
        self._forms.clear()
        self._reads.update(rule.reads())
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
        del self._ids[slot], self._roots[slot]
        self._exact.discard(slot)
        self._then.pop(slot, None)
        self._sure.discard(slot)
        self._forms.clear()
        reads = self._reads
        for key in rule.reads():                    # not a copy of them all per rule
            reads[key] -= 1
            if reads[key] <= 0:
                del reads[key]
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
        self._forms.clear()

    def _prefix_keys(self, form: str) -> list[str]:
        """The ``pre:`` keys of these rules' prefixes ``form`` starts with."""
        return ["pre:" + form[:n] for n in self._prefix_lengths
                if n <= len(form) and form[:n] in self._prefixes]

    def keys_of(self, post: AnalysedText) -> frozenset[str]:
        """The post's keys plus those of the prefixes and regexes of these rules it has."""
        extra: set[str] = set()
        if self._prefixes:
            for form in set(post.forms):
                extra.update(self._prefix_keys(form))
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

    def _form_entry(self, form: str, word_keys: tuple[str, ...]) -> _FormEntry:
        reads = self._reads
        keys = [k for k in word_keys if k in reads]
        if self._prefixes:
            keys += self._prefix_keys(form)
        if not keys:
            return ()
        index, exact = self._index, self._exact
        slots = set().union(*[index[k] for k in keys if k in index])
        return tuple(slots & exact), tuple(slots - exact), tuple(keys)

    def match(self, post: AnalysedText) -> list[tuple[Hashable, Match]]:
        """``(rule id, match)`` of every rule that matches, in the order rules were added.
        The matches explain themselves (spans, reason) when asked."""
        # What each distinct word gives, from the cache of the post's languages: looked
        # up in C, worked out only for forms new to it ...
        table = self._forms.get(post.languages)
        if table is None or len(table) >= _FORM_CACHE_LIMIT:
            table = self._forms[post.languages] = {}
        forms = set(post.forms)
        entries = list(map(table.get, forms))
        if None in entries:
            word_keys = dict(zip(post.forms, post.word_keys, strict=True))
            for i, form in enumerate(forms):
                if entries[i] is None:
                    entries[i] = table[form] = self._form_entry(form, word_keys[form])
        found = list(filter(None, entries))        # the forms some rule looks for
        exact_slots, other_slots, read = zip(*found, strict=True) if found else ((), (), ())
        # ... then the post's other keys (channel, hashtags) and the regexes found in it.
        # Rules see the keys of the post they look for, prefixes and regexes included:
        # they answer the same as given all of the post's keys.
        regex_keys = self._regex_keys(post) if self._regexes else []
        keys = post.post_keys.union(*read, regex_keys)
        matched: set[int] = set().union(*exact_slots)
        candidates: set[int] = set().union(*other_slots)
        index = self._index
        more = [index[k] for k in (*post.post_keys, *regex_keys) if k in index]
        if more:
            more_slots: set[int] = set().union(*more)
            matched |= more_slots & self._exact
            candidates |= more_slots - self._exact
        # An exact rule holds for every post that has one of its index keys. The others
        # are sifted in C by the keys they also need; those having them decide are
        # matched, the rest asked.
        if candidates:
            order = list(candidates)
            lacking = map(keys.isdisjoint, map(self._then.__getitem__, order))
            passed = set(compress(order, map(not_, lacking)))
            matched |= passed & self._sure
            passed -= self._sure
            roots = self._roots
            matched.update([s for s in passed if roots[s].holds(keys, post)])
        order = sorted(matched)
        return list(zip(map(self._ids.__getitem__, order),
                        map(Match, map(self._roots.__getitem__, order), repeat(keys),
                            repeat(post)), strict=True))


_FormEntry = tuple[()] | tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...]]


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
