"""Compiling a parsed rule into a matcher over analysed posts.

Each term knows the keys (:mod:`bot.rules.keys`) a post must have for it to hold, so a
:class:`~bot.rules.ruleset.RuleSet` can skip rules whose keys a post lacks. Prefixes and
regexes are not in a post's own keys: whoever matches looks for them in the post first
and adds ``pre:`` and ``re:`` keys (:meth:`CompiledRule.match` for one rule,
:meth:`~bot.rules.ruleset.RuleSet.keys_of` for many), then evaluates. ``reads`` says
which keys a rule looks at and ``then`` which it needs besides those it is filed under,
so that a RuleSet reads no more of a post than its rules look for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import re2

from bot.rules import nodes
from bot.rules.analysis import COMMENT_KEY, AnalysedText
from bot.rules.errors import RuleSyntaxError
from bot.rules.keys import rule_word_keys
from bot.rules.match import Hit, Match, Span, make_hit
from bot.rules.parser import parse, regex_options
from bot.rules.text import word_forms

MAX_REGEX_SPANS = 100
Keys = AbstractSet[str]


class _Node(ABC):
    """A compiled node: ``holds`` decides, ``collect`` explains a node that holds."""

    __slots__ = ()

    @abstractmethod
    def holds(self, keys: Keys, post: AnalysedText) -> bool: ...

    @abstractmethod
    def collect(self, keys: Keys, post: AnalysedText, out: list[Hit]) -> None: ...

    @abstractmethod
    def need(self) -> frozenset[str] | None:
        """Keys one of which every post this node holds for has; None: no such keys."""

    @abstractmethod
    def reads(self) -> frozenset[str]:
        """Every key ``holds`` and ``collect`` look for: given a post's keys, they answer
        the same given only those of them that are among these."""

    def exact(self) -> bool:
        """True when having one of ``need()`` is enough for the node to hold."""
        return False

    def breadth(self) -> int:
        """Roughly how many posts have one of ``need()``, relatively: AND files a rule
        under its narrowest part."""
        return 1

    def then(self) -> tuple[frozenset[str] | None, bool]:
        """Keys one of which a post that has one of ``need()`` must also have for the
        node to hold (None: none known), and whether having both is then enough."""
        return None, self.exact()


class _Term(_Node):
    __slots__ = ("keys", "name")

    def __init__(self, name: str, keys: frozenset[str]) -> None:
        self.name = name
        self.keys = keys

    def holds(self, keys: Keys, post: AnalysedText) -> bool:
        return not self.keys.isdisjoint(keys)

    def need(self) -> frozenset[str] | None:
        return self.keys

    def reads(self) -> frozenset[str]:
        return self.keys

    def exact(self) -> bool:
        return True

    def spans(self, post: AnalysedText) -> list[Span]:
        return []

    def collect(self, keys: Keys, post: AnalysedText, out: list[Hit]) -> None:
        out.append(make_hit(self.name, post.text, self.spans(post)))


class _Word(_Term):
    __slots__ = ()

    def spans(self, post: AnalysedText) -> list[Span]:
        keys = self.keys
        return [span for span, k in zip(post.spans, post.word_keys, strict=True)
                if not keys.isdisjoint(k)]


class _Sequence(_Term):
    """Adjacent words, each given by the keys it must have: a hyphenated word
    (``Санкт-Петербург``, by word forms) or a phrase (by exact folded forms)."""

    __slots__ = ("parts",)

    def __init__(self, name: str, parts: tuple[frozenset[str], ...]) -> None:
        super().__init__(name, min(parts, key=len))   # the post needs every part
        self.parts = parts

    def holds(self, keys: Keys, post: AnalysedText) -> bool:
        for part in self.parts:
            if part.isdisjoint(keys):
                return False
        return bool(self._starts(post, first_only=True))

    def exact(self) -> bool:
        return False

    def reads(self) -> frozenset[str]:
        return frozenset().union(*self.parts)

    def then(self) -> tuple[frozenset[str] | None, bool]:
        # The words of a phrase the post may lack: the part it is filed under is the
        # smallest (its own keys); the next best, the next smallest.
        others = [p for p in self.parts if p != self.keys]
        return (min(others, key=len) if others else None), False

    def _starts(self, post: AnalysedText, first_only: bool = False) -> list[int]:
        wk, first, rest = post.word_keys, self.parts[0], self.parts[1:]
        starts: list[int] = []
        # The words the first part fits found in C (a post has ~80 words, a rule set
        # hundreds of phrases), the rest checked from those only.
        misses = list(map(first.isdisjoint, wk[:max(0, len(wk) - len(rest))]))
        i = -1
        while True:
            try:
                i = misses.index(False, i + 1)
            except ValueError:
                return starts
            j = i
            for part in rest:
                j += 1
                if part.isdisjoint(wk[j]):
                    break
            else:
                starts.append(i)
                if first_only:
                    return starts

    def spans(self, post: AnalysedText) -> list[Span]:
        n = len(self.parts)
        return [(post.spans[i][0], post.spans[i + n - 1][1]) for i in self._starts(post)]


class _Prefix(_Term):
    __slots__ = ("stem",)

    def __init__(self, stem: str) -> None:
        super().__init__(f"{stem}*", frozenset({"pre:" + stem}))
        self.stem = stem

    def spans(self, post: AnalysedText) -> list[Span]:
        return [span for span, form in zip(post.spans, post.forms, strict=True)
                if form.startswith(self.stem)]


class _Tag(_Term):
    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        super().__init__(f"#{tag}", frozenset({"#:" + tag}))
        self.tag = tag

    def spans(self, post: AnalysedText) -> list[Span]:
        return [(s, e) for s, e, t in post.tags if t == self.tag]


class _From(_Term):
    __slots__ = ()

    def __init__(self, node: nodes.From) -> None:
        key = f"ch:{node.username}" if node.username else f"chid:{node.channel_id}"
        super().__init__(str(node), frozenset({key}))

    def breadth(self) -> int:
        return 1000       # every post of a channel: any word is narrower


class _InComments(_Term):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("in:comments", frozenset({COMMENT_KEY}))

    def breadth(self) -> int:
        return 1000       # every comment: any word is narrower


class _Regex(_Term):
    __slots__ = ("pattern", "regex")

    def __init__(self, pattern: str) -> None:
        super().__init__(f"/{pattern}/", frozenset({"re:" + pattern}))
        self.pattern = pattern
        self.regex = re2.compile(pattern, regex_options())

    def spans(self, post: AnalysedText) -> list[Span]:
        spans = self._spans(post.regex_text)
        normalised = post.normalised_regex_text
        if normalised is not None and len(spans) < MAX_REGEX_SPANS:
            found = set(spans)
            spans += [s for s in (post.original(*span) for span in self._spans(normalised))
                      if s not in found][:MAX_REGEX_SPANS - len(spans)]
            spans.sort()
        return spans

    def _spans(self, text: str) -> list[Span]:
        spans = []
        for m in self.regex.finditer(text):
            if m.end() > m.start():
                spans.append(m.span())
                if len(spans) >= MAX_REGEX_SPANS:
                    break
        return spans


class _Not(_Node):
    __slots__ = ("child",)

    def __init__(self, child: _Node) -> None:
        self.child = child

    def holds(self, keys: Keys, post: AnalysedText) -> bool:
        return not self.child.holds(keys, post)

    def collect(self, keys: Keys, post: AnalysedText, out: list[Hit]) -> None:
        return None   # what is absent is not shown

    def need(self) -> frozenset[str] | None:
        return None

    def reads(self) -> frozenset[str]:
        return self.child.reads()


class _And(_Node):
    __slots__ = ("children",)

    def __init__(self, children: tuple[_Node, ...]) -> None:
        self.children = children

    def holds(self, keys: Keys, post: AnalysedText) -> bool:
        for child in self.children:  # noqa: SIM110 - no generator on the hot path
            if not child.holds(keys, post):
                return False
        return True

    def collect(self, keys: Keys, post: AnalysedText, out: list[Hit]) -> None:
        for child in self.children:
            child.collect(keys, post, out)

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(c.reads() for c in self.children))

    def need(self) -> frozenset[str] | None:
        # Any one child's keys will do: the narrowest sends the fewest posts on.
        narrowest = self._narrowest()
        return None if narrowest is None else narrowest.need()

    def breadth(self) -> int:
        narrowest = self._narrowest()
        return 0 if narrowest is None else narrowest.breadth()

    def then(self) -> tuple[frozenset[str] | None, bool]:
        # Another child's keys (the narrowest of the others); enough when the rule is
        # two exact children (``Курск танк``, ``from:rybar Курск``).
        narrowest = self._narrowest()
        best, best_size = None, 0
        for child in self.children:
            need = child.need()
            if child is not narrowest and need is not None:
                size = child.breadth() * len(need)
                if best is None or size < best_size:
                    best, best_size = child, size
        if narrowest is None or best is None:
            return None, False
        return best.need(), (len(self.children) == 2 and narrowest.exact()
                             and best.exact())

    def _narrowest(self) -> _Node | None:
        best, best_size = None, 0
        for child in self.children:
            need = child.need()
            if need is not None:
                size = child.breadth() * len(need)
                if best is None or size < best_size:
                    best, best_size = child, size
        return best


class _Or(_Node):
    __slots__ = ("children",)

    def __init__(self, children: tuple[_Node, ...]) -> None:
        self.children = children

    def holds(self, keys: Keys, post: AnalysedText) -> bool:
        for child in self.children:  # noqa: SIM110 - no generator on the hot path
            if child.holds(keys, post):
                return True
        return False

    def collect(self, keys: Keys, post: AnalysedText, out: list[Hit]) -> None:
        for child in self.children:
            if child.holds(keys, post):
                child.collect(keys, post, out)

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(c.reads() for c in self.children))

    def need(self) -> frozenset[str] | None:
        needs = [c.need() for c in self.children]
        if any(n is None for n in needs):
            return None
        return frozenset().union(*needs)  # type: ignore[arg-type]

    def exact(self) -> bool:
        return all(c.exact() for c in self.children)

    def breadth(self) -> int:
        return max(c.breadth() for c in self.children)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match analysed posts (:func:`compile_rule`)."""

    text: str                          # the rule as written
    node: nodes.Node                   # its parsed form
    index_keys: frozenset[str]         # a post lacking all of these cannot match
    exact: bool                        # ... and a post having one of them does match
    prefixes: tuple[str, ...]          # folded stems of its ``word*`` terms
    regexes: tuple[str, ...]           # its ``/regex/`` patterns (ё written е)
    root: Any = field(repr=False, compare=False)
    _compiled_regexes: tuple[Any, ...] = field(repr=False, compare=False, default=())

    def reads(self) -> frozenset[str]:
        """Every key the rule looks for (:meth:`match_keys` answers the same given only
        those of a post's keys that are among these)."""
        return frozenset(self.root.reads())

    def then(self) -> tuple[frozenset[str] | None, bool]:
        """Keys one of which a post with one of ``index_keys`` must also have for the
        rule to match (None: none known), and whether having both is then enough."""
        if self.exact:
            return None, True
        return self.root.then()

    def match(self, post: AnalysedText) -> Match | None:
        """Match one post on its own (a :class:`RuleSet` matches many rules at once)."""
        extra = {"pre:" + s for s in self.prefixes
                 if any(form.startswith(s) for form in post.forms)}
        normalised = post.normalised_regex_text
        extra.update("re:" + p for p, r in zip(self.regexes, self._compiled_regexes,
                                              strict=True)
                     if r.search(post.regex_text)
                     or (normalised is not None and r.search(normalised)))
        return self.match_keys(post.keys | extra if extra else post.keys, post)

    def match_keys(self, keys: Keys, post: AnalysedText) -> Match | None:
        """Match given the post's keys plus its ``pre:``/``re:`` keys."""
        root: _Node = self.root
        if not root.holds(keys, post):
            return None
        return Match(root, keys, post)


class _Compiler:
    def __init__(self) -> None:
        self.prefixes: dict[str, None] = {}
        self.regexes: dict[str, _Regex] = {}

    def build(self, node: nodes.Node) -> _Node:
        match node:
            case nodes.Word(text=text):
                forms = word_forms(text)
                if len(forms) == 1:
                    return _Word(text, rule_word_keys(forms[0]))
                return _Sequence(text, tuple(rule_word_keys(f) for f in forms))
            case nodes.Phrase(words=words):
                return _Sequence(str(node), tuple(frozenset({"w:" + w}) for w in words))
            case nodes.Prefix(stem=stem):
                self.prefixes[stem] = None
                return _Prefix(stem)
            case nodes.Tag(tag=tag):
                return _Tag(tag)
            case nodes.From():
                return _From(node)
            case nodes.InComments():
                return _InComments()
            case nodes.Regex(pattern=pattern):
                if pattern not in self.regexes:
                    self.regexes[pattern] = _Regex(pattern)
                return self.regexes[pattern]
            case nodes.Not(child=child):
                return _Not(self.build(child))
            case nodes.And(children=children):
                return _And(tuple(self.build(c) for c in children))
            case nodes.Or(children=children):
                return _Or(tuple(self.build(c) for c in children))
        raise TypeError(f"not a rule node: {node!r}")


def _only_excludes(node: nodes.Node) -> nodes.Node:
    """The part of a rule to blame when the rule can match without finding anything."""
    match node:
        case nodes.And(children=children):
            return _only_excludes(children[0])
        case nodes.Or(children=children):
            for child in children:
                if _Compiler().build(child).need() is None:
                    return _only_excludes(child)
    return node


def compile_rule(rule: str | nodes.Node) -> CompiledRule:
    """Parse (if given text) and compile a rule; raises :class:`RuleSyntaxError`."""
    text = rule if isinstance(rule, str) else str(rule)
    node = parse(rule) if isinstance(rule, str) else rule
    compiler = _Compiler()
    root = compiler.build(node)
    need = root.need()
    if need is None:
        col = _only_excludes(node).col or 1
        raise RuleSyntaxError(
            f"the rule only excludes (at column {col}): a rule, and each alternative of OR, "
            "needs something to find: a word, \"phrase\", #tag, prefix*, /regex/ or "
            "from:CHANNEL", col, text)
    return CompiledRule(text, node, need, root.exact(), tuple(compiler.prefixes),
                        tuple(compiler.regexes),
                        root, tuple(r.regex for r in compiler.regexes.values()))
