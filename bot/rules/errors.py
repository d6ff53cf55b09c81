"""The error a malformed rule gets: what is wrong, and where."""

from __future__ import annotations

from config.errors import TgmonError


class RuleSyntaxError(TgmonError):
    """A rule that cannot be parsed or compiled.

    ``column`` is 1-based, in characters of the rule as written; the message names the
    problem and contains the same column ("unclosed parenthesis opened at column 7").
    """

    def __init__(self, message: str, column: int, rule: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.rule = rule

    def pointer(self) -> str:
        """The rule and a caret under the faulty column, for a terminal."""
        if not self.rule:
            return ""
        line = self.rule.replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * (self.column - 1)}^"
