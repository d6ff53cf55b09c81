"""Reading a JSON document with errors that name the file and the JSON path of the
value at fault (``scenario.json: $.events[3].post.channel: ...``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NoReturn

from config.errors import TgmonError


class ScenarioError(TgmonError):
    """A scenario file that cannot be played; the message names the field and the fix."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Node:
    """A JSON value and where it is."""

    def __init__(self, value: Any, path: str, source: str) -> None:
        self.value = value
        self.path = path
        self.source = source

    def fail(self, message: str) -> NoReturn:
        raise ScenarioError(f"{self.source}: {self.path}: {message}")

    def child(self, key: str | int) -> Node:
        path = f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"
        return Node(self.value[key], path, self.source)

    def fields(self, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict[str, Node]:
        """The members of an object; a missing required or an unknown key is an error."""
        if not isinstance(self.value, dict):
            self.fail(f"expected an object, got {_show(self.value)}")
        required, optional = tuple(required), tuple(optional)
        for key in required:
            if key not in self.value:
                self.fail(f"missing {key!r}")
        known = (*required, *optional)
        for key in self.value:
            if key not in known:
                self.fail(f"unknown key {key!r} (known: {', '.join(known)})")
        return {key: self.child(key) for key in self.value}

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            self.fail(f"expected a list, got {_show(self.value)}")
        return [self.child(i) for i in range(len(self.value))]

    def integer(self, minimum: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"expected a whole number, got {_show(self.value)}")
        if minimum is not None and self.value < minimum:
            self.fail(f"expected a number of at least {minimum}, got {self.value}")
        return self.value

    def number(self, minimum: float = 0.0) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            self.fail(f"expected a number, got {_show(self.value)}")
        if self.value < minimum:
            self.fail(f"expected a number of at least {minimum:g}, got {self.value}")
        return float(self.value)

    def text(self, *, empty: bool = True) -> str:
        if not isinstance(self.value, str):
            self.fail(f"expected text, got {_show(self.value)}")
        if not empty and not self.value.strip():
            self.fail("must not be empty")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"expected true or false, got {_show(self.value)}")
        return self.value

    def time(self) -> datetime:
        """ISO 8601; a time without an offset is UTC."""
        if not isinstance(self.value, str):
            self.fail(f"expected an ISO 8601 time such as 2024-03-12T05:00:00+03:00, "
                      f"got {_show(self.value)}")
        try:
            moment = datetime.fromisoformat(self.value)
        except ValueError:
            self.fail(f"expected an ISO 8601 time such as 2024-03-12T05:00:00+03:00, "
                      f"got {_show(self.value)}")
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def choice(self, options: Iterable[str]) -> str:
        options = tuple(options)
        if self.value not in options:
            self.fail(f"expected one of {', '.join(options)}, got {_show(self.value)}")
        return str(self.value)


def optional(fields: dict[str, Node], key: str) -> Node | None:
    node = fields.get(key)
    return None if node is None or node.value is None else node
