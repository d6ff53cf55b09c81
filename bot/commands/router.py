"""Declarative command routing: each command states its arguments, its help and who
may run it; parsing a message into a command call is a pure function.

    router = Router()

    @router.command("subscribe", "CHANNEL", summary="every post of a channel")
    async def subscribe(ctx, channel): ...

Argument syntax: ``NAME`` required, ``[NAME]`` optional, ``NAME...`` / ``[NAME...]``
takes the rest of the line (spaces included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

Handler = Callable[..., Awaitable[None]]


class Access(IntEnum):
    """Who may run a command. Higher needs more."""

    EVERYONE = 0    # /start, /help: also answer people who may not use the bot, saying why
    MEMBER = 1      # whoever the access mode lets in
    ADMIN = 2


@dataclass(frozen=True)
class Arg:
    name: str
    optional: bool = False
    rest: bool = False           # takes the rest of the line

    def usage(self) -> str:
        s = self.name + ("..." if self.rest else "")
        return f"[{s}]" if self.optional else s


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[Arg, ...]
    summary: str
    help: str
    access: Access
    handler: Handler = field(compare=False)

    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(a.usage() for a in self.args)])


@dataclass(frozen=True)
class Callback:
    prefix: str                  # button data is "<prefix>:<payload>"
    access: Access
    handler: Handler = field(compare=False)


class UsageError(Exception):
    """The message names a known command but its arguments do not fit."""

    def __init__(self, command: Command, problem: str) -> None:
        super().__init__(f"{problem}\nUsage: {command.usage()} — {command.summary}")
        self.command = command


@dataclass(frozen=True)
class Call:
    command: Command
    args: dict[str, str | None]


def parse_args_spec(spec: str) -> tuple[Arg, ...]:
    args = []
    for token in spec.split():
        optional = token.startswith("[") and token.endswith("]")
        name = token.strip("[]")
        rest = name.endswith("...")
        args.append(Arg(name.rstrip("."), optional, rest))
    for i, a in enumerate(args):
        if a.rest and i != len(args) - 1:
            raise ValueError(f"{a.name}... must be the last argument")
    return tuple(args)


def split_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """``"/Sub@tgmon_bot  x y"`` -> ``("sub", "x y")``; None if not a command for us
    (not a command, or addressed to another bot in a group)."""
    s = text.strip()
    if not s.startswith("/") or len(s) < 2:
        return None
    head, _, rest = s[1:].partition(" ")
    head, _, rest2 = head.partition("\n")
    rest = (rest2 + " " + rest).strip() if rest2 else rest.strip()
    name, _, target = head.partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return name.lower(), rest


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.callbacks: dict[str, Callback] = {}

    def command(self, name: str, args: str = "", *, summary: str, help: str = "",
                access: Access = Access.MEMBER) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"/{name} is defined twice")
            self.commands[name] = Command(name, parse_args_spec(args), summary,
                                          help or summary, access, handler)
            return handler
        return register

    def callback(self, prefix: str, *,
                 access: Access = Access.MEMBER) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if prefix in self.callbacks or ":" in prefix:
                raise ValueError(f"bad or duplicate callback prefix {prefix!r}")
            self.callbacks[prefix] = Callback(prefix, access, handler)
            return handler
        return register

    def include(self, other: Router) -> None:
        for name, cmd in other.commands.items():
            if name in self.commands:
                raise ValueError(f"/{name} is defined twice")
            self.commands[name] = cmd
        for prefix, cb in other.callbacks.items():
            if prefix in self.callbacks:
                raise ValueError(f"callback {prefix!r} is defined twice")
            self.callbacks[prefix] = cb

    def resolve(self, name: str, rest: str) -> Call | None:
        """The call a message makes, None for an unknown command; UsageError when the
        arguments do not fit."""
        cmd = self.commands.get(name)
        if cmd is None:
            return None
        return Call(cmd, bind_args(cmd, rest))

    def resolve_callback(self, data: str) -> tuple[Callback, str] | None:
        prefix, sep, payload = data.partition(":")
        cb = self.callbacks.get(prefix)
        return (cb, payload) if cb and sep else None


def bind_args(cmd: Command, rest: str) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    remaining = rest.strip()
    for arg in cmd.args:
        if arg.rest:
            values[arg.name] = remaining or None
            remaining = ""
        else:
            token, _, remaining = remaining.partition(" ")
            remaining = remaining.strip()
            values[arg.name] = token or None
        if values[arg.name] is None and not arg.optional:
            raise UsageError(cmd, f"/{cmd.name} needs {arg.name}.")
    if remaining:
        raise UsageError(cmd, f"/{cmd.name} takes no more than {len(cmd.args)} "
                              f"argument{'s' if len(cmd.args) != 1 else ''}.")
    return values


def help_text(router: Router, level: Access) -> list[tuple[str, str]]:
    """``(usage, summary)`` of every command ``level`` may run, in a stable order."""
    return [(c.usage(), c.summary) for c in sorted(router.commands.values(),
                                                    key=lambda c: (c.access, c.name))
            if c.access <= level]


def kwargs_for(call: Call) -> dict[str, Any]:
    """Handler keyword arguments: argument names in lower case."""
    return {k.lower(): v for k, v in call.args.items()}
