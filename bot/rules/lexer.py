"""Cutting rule text into tokens: operators, parentheses and the terms they join."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.rules.errors import RuleSyntaxError


class Kind(Enum):
    LPAREN = "("
    RPAREN = ")"
    OR = "OR"
    AND = "AND"
    NOT = "NOT"
    CHUNK = "chunk"     # a bare run of characters: word, word*, #tag, from:x
    PHRASE = "phrase"   # text between quotes
    REGEX = "regex"     # text between slashes
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    col: int            # 1-based column of the token's first character


# Phone keyboards turn " into typographic quotes: accept the usual pairs.
_QUOTES = {'"': '"', "“": "”“\"", "«": "»", "„": "“”\""}
_STOP = frozenset("()|") | frozenset(_QUOTES)
_KEYWORDS = {"OR": Kind.OR, "AND": Kind.AND, "NOT": Kind.NOT}


def tokenize(rule: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(rule)
    while i < n:
        c = rule[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(Token(Kind.LPAREN, c, col))
            i += 1
        elif c == ")":
            tokens.append(Token(Kind.RPAREN, c, col))
            i += 1
        elif c == "|":
            tokens.append(Token(Kind.OR, c, col))
            i += 1
        elif c in _QUOTES:
            closers = _QUOTES[c]
            j = i + 1
            while j < n and rule[j] not in closers:
                j += 1
            if j >= n:
                raise RuleSyntaxError(
                    f"unterminated phrase: the quote at column {col} is never closed", col, rule)
            tokens.append(Token(Kind.PHRASE, rule[i + 1:j], col))
            i = j + 1
        elif c == "/":
            j = i + 1
            while j < n and rule[j] != "/":
                j += 2 if rule[j] == "\\" else 1
            if j >= n:
                raise RuleSyntaxError(
                    f"unterminated regex: the / at column {col} is never closed "
                    "(write a / inside a regex as \\/)", col, rule)
            tokens.append(Token(Kind.REGEX, rule[i + 1:j], col))
            i = j + 1
        elif c == "-" and (i + 1 >= n or rule[i + 1].isspace() or rule[i + 1] in ")|"):
            raise RuleSyntaxError(
                f"'-' at column {col} excludes nothing: write it against what it excludes, "
                "like -реклама", col, rule)
        elif c == "-":
            tokens.append(Token(Kind.NOT, c, col))
            i += 1
        else:
            j = i
            while j < n and not rule[j].isspace() and rule[j] not in _STOP:
                j += 1
            chunk = rule[i:j]
            tokens.append(Token(_KEYWORDS.get(chunk, Kind.CHUNK), chunk, col))
            i = j
    tokens.append(Token(Kind.END, "", n + 1))
    return tokens
