"""The bot's commands. Each module holds a :class:`Router` of related commands;
:func:`all_commands` puts them together."""

from __future__ import annotations

from bot.commands.router import Router


def all_commands() -> Router:
    from bot.commands import alerts, basic, channels, digests, people, watch, webhooks

    router = Router()
    for module in (basic, channels, digests, people, watch, alerts, webhooks):
        router.include(module.router)
    return router
