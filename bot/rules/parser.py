"""Parsing rule text into a tree of nodes (:mod:`bot.rules.nodes`).

Grammar, loosest binding first (so NOT binds tighter than AND, AND than OR)::

    rule    := any END
    any     := all ( ("OR" | "|") all )*
    all     := unary ( ["AND"] unary )*          -- juxtaposition is AND
    unary   := ("NOT" | "-") unary | primary
    primary := "(" any ")" | "word" | "word*" | '"phrase"' | "#tag" | "from:CHANNEL"
             | "in:comments"
             | "/regex/"

Only the uppercase ``OR``, ``AND`` and ``NOT`` are operators; ``or``, ``and`` and
``not`` are words like any other.
"""

from __future__ import annotations

import re

import re2

from bot.rules.errors import RuleSyntaxError, quoted
from bot.rules.lexer import Kind, Token, tokenize
from bot.rules.nodes import (
    And,
    From,
    InComments,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Regex,
    Tag,
    Word,
)
from bot.rules.text import canonical, fold, fold_yo, word_forms
from storage.normalise import normalise

MAX_RULE_LENGTH = 1000
MAX_REGEX_LENGTH = 300
MAX_DEPTH = 50
MIN_PREFIX = 2

_ONE_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+(?:['’ʼ`](?:[^\W_]|[\u0300-\u036f])+)*")
_TAG = re.compile(r"#(\w+)")
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
_CHANNEL_ID = re.compile(r"-?\d{1,20}")
_LINK = re.compile(r"(?:https?://)?(?:t\.me|telegram\.me)/(?:s/)?", re.IGNORECASE)


def regex_options() -> re2.Options:
    """How every rule regex is compiled: case-insensitive, quiet, bounded memory."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = 1 << 22
    return options


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule)
        self.pos = 0
        self.depth = 0

    def error(self, message: str, col: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, col, self.rule)

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if self.peek.kind is Kind.END:
            raise self.error("empty rule: write at least one word", 1)
        node = self.any()
        if self.peek.kind is Kind.RPAREN:
            raise self.error(f"unmatched ')' at column {self.peek.col}", self.peek.col)
        return node

    def any(self) -> Node:
        children = [self.all()]
        while self.peek.kind is Kind.OR:
            op = self.take()
            if self.peek.kind in (Kind.OR, Kind.RPAREN, Kind.END):
                raise self.error(f"empty alternative after {op.text} at column {op.col}", op.col)
            children.append(self.all())
        return children[0] if len(children) == 1 else Or(tuple(children), children[0].col)

    def all(self) -> Node:
        children = [self.unary()]
        while self.peek.kind not in (Kind.OR, Kind.RPAREN, Kind.END):
            if self.peek.kind is Kind.AND:
                op = self.take()
                if self.peek.kind in (Kind.OR, Kind.RPAREN, Kind.END, Kind.AND):
                    raise self.error(f"AND at column {op.col} has nothing after it", op.col)
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children), children[0].col)

    def unary(self) -> Node:
        if self.peek.kind is not Kind.NOT:
            return self.primary()
        op = self.take()
        if self.peek.kind in (Kind.OR, Kind.RPAREN, Kind.END, Kind.AND):
            raise self.error(f"NOT at column {op.col} has nothing after it", op.col)
        self.enter(op)
        child = self.unary()
        self.depth -= 1
        return Not(child, op.col)

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the rule nests too deeply at column {token.col} "
                             f"(more than {MAX_DEPTH} levels)", token.col)

    def primary(self) -> Node:
        token = self.take()
        kind, col = token.kind, token.col
        if kind is Kind.LPAREN:
            if self.peek.kind is Kind.RPAREN:
                raise self.error(f"empty parentheses at column {col}", col)
            if self.peek.kind is Kind.END:
                raise self.error(f"unclosed parenthesis opened at column {col}", col)
            self.enter(token)
            node = self.any()
            self.depth -= 1
            if self.peek.kind is not Kind.RPAREN:
                raise self.error(f"unclosed parenthesis opened at column {col}", col)
            self.take()
            return node
        if kind is Kind.RPAREN:
            raise self.error(f"unmatched ')' at column {col}", col)
        if kind in (Kind.OR, Kind.AND):
            raise self.error(f"{token.text} at column {col} has nothing before it", col)
        if kind is Kind.PHRASE:
            return self.phrase(token)
        if kind is Kind.REGEX:
            return self.regex(token)
        return self.chunk(token)

    def phrase(self, token: Token) -> Node:
        forms = word_forms(token.text)
        if not forms:
            raise self.error(f"empty phrase at column {token.col}: put words between the "
                             "quotes", token.col)
        return Phrase(tuple(canonical(f) for f in forms), token.col,
                      " ".join(token.text.split()))

    def regex(self, token: Token) -> Node:
        pattern, col = token.text, token.col
        if not pattern:
            raise self.error(f"empty regex at column {col}", col)
        if len(pattern) > MAX_REGEX_LENGTH:
            raise self.error(f"regex at column {col} is too long ({len(pattern)} characters; "
                             f"the limit is {MAX_REGEX_LENGTH})", col)
        folded = fold_yo(pattern)
        try:
            compiled = re2.compile(folded, regex_options())
        except re2.error as e:
            problem, where = _re2_problem(e, folded)
            at = col + 1 + where
            raise self.error(f"invalid regex at column {at}: {problem}", at) from None
        if compiled.search("") is not None:
            raise self.error(f"regex at column {col} matches empty text, so it would match "
                             "every post: make it require at least one character", col)
        return Regex(folded, col)

    def chunk(self, token: Token) -> Node:
        text, col = token.text, token.col
        if text.startswith("#"):
            m = _TAG.fullmatch(normalise(text))
            if not m:
                raise self.error(f"hashtag at column {col} needs letters or digits after #, "
                                 "like #Курск", col)
            return Tag(fold(m.group(1)), col)
        if text[:5].lower() == "from:":
            return self.channel(text[5:], col)
        if text[:3].lower() == "in:":
            if text[3:].lower() != "comments":
                raise self.error(f"in: at column {col} takes comments (in:comments matches "
                                 "comments on the channels' posts instead of posts)", col)
            return InComments(col)
        star = text.find("*")
        if star != -1:
            if star != len(text) - 1:
                raise self.error(f"'*' at column {col + star}: a wildcard goes at the end of a "
                                 "word, like танк*", col + star)
            stem = normalise(text[:-1])
            if not _ONE_WORD.fullmatch(stem):
                raise self.error(f"prefix at column {col} must be one word followed by *, "
                                 "like танк*", col)
            if len(stem) < MIN_PREFIX:
                raise self.error(f"prefix at column {col} is too short: give at least "
                                 f"{MIN_PREFIX} letters before *", col)
            return Prefix(fold(stem), col)
        if not word_forms(text):
            raise self.error(f"{quoted(text)} at column {col} is not a word: separate words with "
                             "spaces and alternatives with OR", col)
        return Word(text, col)

    def channel(self, value: str, col: int) -> Node:
        name = _LINK.sub("", value, count=1).lstrip("@").rstrip("/")
        if _CHANNEL_ID.fullmatch(name):
            digits = name.lstrip("-")
            if name.startswith("-100") and len(digits) > 3:
                digits = digits[3:]          # Bot API form -100<id>
            return From(channel_id=int(digits), col=col)
        if _USERNAME.fullmatch(name):
            return From(username=name.lower(), col=col)
        if not value:
            raise self.error(f"from: at column {col} needs a channel right after it, with no "
                             "space: from:rybar or from:@rybar", col)
        raise self.error(f"from: at column {col}: {quoted(value)} is not a channel username or id; "
                         "write one like from:rybar, from:@rybar or from:1259695380", col)


def _re2_problem(error: re2.error, pattern: str) -> tuple[str, int]:
    """RE2's complaint and the offset in ``pattern`` of the part it names."""
    raw = error.args[0] if error.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    problem, _, fragment = text.partition(": ")
    if problem in ("missing )", "unexpected )"):
        return problem, _unbalanced(pattern)
    where = pattern.find(fragment) if fragment and fragment != pattern else -1
    return problem or "not a valid RE2 pattern", max(where, 0)


def _unbalanced(pattern: str) -> int:
    """Offset of the first ``)`` that closes nothing, else of the last ``(`` left open
    (escapes and character classes skipped)."""
    opened: list[int] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i += 2 if pattern[i + 1:i + 2] != "^" else 3     # a leading ] is literal
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            opened.append(i)
        elif c == ")":
            if not opened:
                return i
            opened.pop()
        i += 1
    return opened[-1] if opened else 0


def parse(rule: str) -> Node:
    """The tree of ``rule``; raises :class:`RuleSyntaxError` naming the problem and column."""
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(f"rule is too long ({len(rule)} characters; the limit is "
                              f"{MAX_RULE_LENGTH})", MAX_RULE_LENGTH + 1, rule)
    return _Parser(rule).parse()
