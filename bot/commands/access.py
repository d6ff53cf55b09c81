"""Who may run what: a pure decision from the settings and an admin's grant."""

from __future__ import annotations

from bot.commands.router import Access
from config.settings import Settings


def level_of(user_id: int, settings: Settings, grant: bool | None) -> Access:
    """The highest :class:`Access` level a person holds.

    ``grant`` is an admin's latest /allow (True) or /deny (False) for them, if any;
    a /deny also overrides ``TGMON_ALLOWLIST`` and open mode. Admins are never denied.
    """
    if user_id in settings.admins:
        return Access.ADMIN
    if grant is False:
        return Access.EVERYONE
    if settings.access == "open":
        return Access.MEMBER
    if settings.access == "allowlist" and (grant is True or user_id in settings.allowlist):
        return Access.MEMBER
    return Access.EVERYONE


def refusal(required: Access, held: Access, settings: Settings, user_id: int) -> str:
    """Why a command is refused, and what the person can do about it."""
    if required == Access.ADMIN:
        return "Only tgmon's admins may do that."
    if held == Access.EVERYONE and settings.access == "admins":
        return "This tgmon bot is for its admins only."
    return (f"You are not on this bot's allowlist. Ask an admin to send "
            f"<code>/allow {user_id}</code>.")
