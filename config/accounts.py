"""Watching accounts by name: ``main`` (the account tgmon always had, whose session file
stays ``user.session``) and the others, ``tgmon login --account NAME`` (``NAME.session``).

A name is what people type and what files, logs and messages carry, so it is kept
plain: lower-case letters, digits and underscores, starting with a letter. ``user`` and
``bot`` are the names of existing session files and cannot be account names.
"""

from __future__ import annotations

import re

from config.errors import TgmonError

MAIN = "main"
NAME_MAX = 32
RESERVED = ("user", "bot")          # session file names tgmon already uses
_NAME = re.compile(rf"[a-z][a-z0-9_]{{0,{NAME_MAX - 1}}}")


class AccountNameError(TgmonError):
    pass


def check_account_name(name: str) -> str:
    """The account name, lower-cased; one clear error when it cannot be one."""
    clean = name.strip().lower()
    if clean in RESERVED:
        raise AccountNameError(
            f"{name!r} cannot be an account name ({' and '.join(RESERVED)} are tgmon's own "
            f"session files); the first account is {MAIN!r}, choose another name for others")
    if not _NAME.fullmatch(clean):
        raise AccountNameError(
            f"{name!r} is not an account name: use up to {NAME_MAX} letters a-z, digits and "
            "underscores, starting with a letter (e.g. second, desk_2)")
    return clean


def session_stem(account: str) -> str:
    """The session file's name (without ``.session`` and a server's suffix) of an
    account: ``user`` for ``main``, as before tgmon had several accounts."""
    return "user" if account == MAIN else account


def account_of_stem(stem: str) -> str | None:
    """The account whose session file is ``stem`` (see :func:`session_stem`), or None
    for a file that is no watching account's (the bot's, or not a valid name)."""
    if stem == "user":
        return MAIN
    if stem in RESERVED or stem == MAIN or not _NAME.fullmatch(stem):
        return None
    return stem


def ordered(names: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Account names in tgmon's order: ``main`` first, then by name."""
    return sorted(set(names), key=lambda n: (n != MAIN, n))
