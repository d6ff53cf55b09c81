"""The parsed form of a rule: a tree of frozen nodes.

Every node keeps the 1-based column where it starts in the rule text (``col``, not part
of equality) so that later checks can point at it. ``str(node)`` writes the node back
in the rule language.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """A bare word (all its inflected forms); may contain hyphens: ``Санкт-Петербург``."""

    text: str
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Prefix:
    """``word*``: any word that begins with ``stem`` (folded)."""

    stem: str
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.stem}*"


@dataclass(frozen=True)
class Phrase:
    """``"exact phrase"``: these folded word forms, adjacent and in this order."""

    words: tuple[str, ...]
    col: int = field(default=0, compare=False)
    text: str = field(default="", compare=False)   # as written, between the quotes

    def __str__(self) -> str:
        return '"' + (self.text or " ".join(self.words)) + '"'


@dataclass(frozen=True)
class Tag:
    """``#tag``: a hashtag (folded, without ``#``)."""

    tag: str
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"#{self.tag}"


@dataclass(frozen=True)
class From:
    """``from:CHANNEL``: posts of one channel, by username (lowercase) or numeric id."""

    username: str | None = None
    channel_id: int | None = None
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"from:{self.username if self.username else self.channel_id}"


@dataclass(frozen=True)
class InComments:
    """``in:comments``: the text is a comment on a channel's post, not a post. Rules
    match posts only unless they say so."""

    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return "in:comments"


@dataclass(frozen=True)
class Regex:
    """``/pattern/``: an RE2 regular expression, case-insensitive, over text with ё as е."""

    pattern: str
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"/{self.pattern}/"


@dataclass(frozen=True)
class Not:
    child: Node
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        inner = str(self.child)
        return f"-({inner})" if isinstance(self.child, And | Or) else f"-{inner}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return " ".join(f"({c})" if isinstance(c, Or) else str(c) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    col: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return " OR ".join(str(c) for c in self.children)


Term = Word | Prefix | Phrase | Tag | From | InComments | Regex
Node = Term | Not | And | Or
