"""The error a malformed rule gets: what is wrong, and where."""

from __future__ import annotations

from config.errors import TgmonError

POINTER_WIDTH = 72           # characters of the rule shown around the caret
QUOTE_WIDTH = 40             # characters of a piece of the rule quoted in a message


def quoted(text: str, width: int = QUOTE_WIDTH) -> str:
    """``repr`` of a piece of a rule, cut to ``width`` characters: a huge rule is never
    echoed back whole."""
    return repr(text if len(text) <= width else text[:width - 1] + "…")


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

    def pointer(self, width: int = POINTER_WIDTH) -> str:
        """The rule and a caret under the faulty column, for a terminal; a long rule is
        shown as ``width`` characters around the column, cut ends marked with …."""
        if not self.rule:
            return ""
        line = self.rule.replace("\n", " ").replace("\t", " ")
        at = max(0, self.column - 1)
        if len(line) <= width:
            return f"{line}\n{' ' * at}^"
        start = max(0, min(at - width // 2, len(line) - width))
        head = "…" if start > 0 else ""
        tail = "…" if start + width < len(line) else ""
        return f"{head}{line[start:start + width]}{tail}\n{' ' * (len(head) + at - start)}^"
