"""Command parsing and access decisions (pure)."""

from __future__ import annotations

import pytest

from bot.commands import all_commands
from bot.commands.access import level_of
from bot.commands.router import Access, Router, UsageError, help_text, split_command
from config.settings import Settings


def make_router() -> Router:
    r = Router()

    async def h(ctx, **kw):  # pragma: no cover - never awaited here
        return None

    r.command("alert", "RULE...", summary="alert on a rule")(h)
    r.command("mute", "[DURATION]", summary="mute")(h)
    r.command("subscribe", "CHANNEL", summary="sub")(h)
    r.command("watch", "CHANNEL [LABEL...]", summary="watch", access=Access.ADMIN)(h)
    return r


@pytest.mark.parametrize(("text", "expected"), [
    ("/alert Тёткино OR Tyotkino", ("alert", "Тёткино OR Tyotkino")),
    ("/Alert@TgmonBot  курск   танк", ("alert", "курск   танк")),
    ("/alert@other_bot x", None),
    ("hello", None),
    ("/", None),
    ("/mute\n2h", ("mute", "2h")),
])
def test_a_message_splits_into_command_and_rest_for_this_bot_only(text, expected):
    assert split_command(text, "tgmonbot") == expected


def test_rest_argument_keeps_the_whole_rule():
    call = make_router().resolve("alert", '"Курская область" (танк | бой) -учения')
    assert call and call.args == {"RULE": '"Курская область" (танк | бой) -учения'}


def test_optional_and_missing_arguments():
    r = make_router()
    assert r.resolve("mute", "").args == {"DURATION": None}
    with pytest.raises(UsageError, match=r"/subscribe needs CHANNEL\.\nUsage: /subscribe CHANNEL"):
        r.resolve("subscribe", "")
    with pytest.raises(UsageError, match="takes no more than 1 argument"):
        r.resolve("subscribe", "a b")
    assert r.resolve("watch", "rybar Rybar milblogger").args == \
        {"CHANNEL": "rybar", "LABEL": "Rybar milblogger"}
    assert r.resolve("nosuch", "") is None


def test_help_lists_only_what_the_level_may_run():
    r = make_router()
    assert [u for u, _ in help_text(r, Access.MEMBER)] == \
        ["/alert RULE...", "/mute [DURATION]", "/subscribe CHANNEL"]
    assert "/watch CHANNEL [LABEL...]" in [u for u, _ in help_text(r, Access.ADMIN)]


def test_commands_are_unique_across_modules():
    router = all_commands()
    assert {"start", "help", "channels", "subscribe", "users", "allow"} <= set(router.commands)


@pytest.mark.parametrize(("mode", "user", "grant", "expected"), [
    ("open", 5, None, Access.MEMBER),
    ("open", 5, False, Access.EVERYONE),          # /deny works in open mode too
    ("allowlist", 5, None, Access.EVERYONE),
    ("allowlist", 6, None, Access.MEMBER),         # in TGMON_ALLOWLIST
    ("allowlist", 5, True, Access.MEMBER),         # /allow
    ("allowlist", 6, False, Access.EVERYONE),      # /deny beats the setting
    ("admins", 6, True, Access.EVERYONE),
    ("admins", 1, False, Access.ADMIN),            # admins are never denied
])
def test_each_access_mode_gives_people_their_level(mode, user, grant, expected):
    s = Settings(access=mode, admins=frozenset({1}), allowlist=frozenset({6}))
    assert level_of(user, s, grant) == expected
