"""Admins' commands about people: /users, /allow, /deny."""

from __future__ import annotations

from html import escape

from bot.commands.context import Context
from bot.commands.router import Access, Router
from config.errors import TgmonError
from storage.chats import BotUser, find_user, grant, list_users

router = Router()


def _who(u: BotUser) -> str:
    name = escape(u.first_name or "")
    handle = f" @{escape(u.username)}" if u.username else ""
    return f"{name}{handle} (<code>{u.user_id}</code>)".strip()


def _state(ctx: Context, u: BotUser) -> str:
    s = ctx.rt.settings
    if u.user_id in s.admins:
        return "admin"
    if u.allowed is False:
        return "denied"
    if u.allowed or u.user_id in s.allowlist or s.access == "open":
        return "allowed"
    return "not allowed"


async def _target(ctx: Context, user: str) -> int:
    if user.lstrip("-").isdigit():
        return int(user)
    found = await find_user(ctx.db, user)
    if found is None:
        raise TgmonError(f"No one called {user} has written to this bot. Give their numeric "
                         "user id instead (they can see it in /start).")
    return found.user_id


@router.command("users", summary="people who wrote to the bot, and their access",
                access=Access.ADMIN)
async def users(ctx: Context) -> None:
    people = await list_users(ctx.db)
    if not people:
        await ctx.reply("No one has written to the bot yet.")
        return
    lines = [f"Access mode: <b>{escape(ctx.rt.settings.access)}</b>"]
    lines += [f"• {_who(u)} — {_state(ctx, u)}" for u in people]
    await ctx.reply("\n".join(lines))


@router.command("allow", "USER", summary="let a person use the bot (id or @username)",
                access=Access.ADMIN)
async def allow(ctx: Context, user: str) -> None:
    user_id = await _target(ctx, user)
    await grant(ctx.db, user_id, True, ctx.user_id, ctx.now())
    note = "" if ctx.rt.settings.access != "admins" else \
        " (the access mode is admins: only admins may use the bot until it changes)"
    await ctx.reply(f"<code>{user_id}</code> may now use the bot{note}.")


@router.command("deny", "USER", summary="stop a person using the bot (id or @username)",
                access=Access.ADMIN)
async def deny(ctx: Context, user: str) -> None:
    user_id = await _target(ctx, user)
    if user_id in ctx.rt.settings.admins:
        raise TgmonError("Admins cannot be denied; change TGMON_ADMINS instead.")
    await grant(ctx.db, user_id, False, ctx.user_id, ctx.now())
    await ctx.reply(f"<code>{user_id}</code> may no longer use the bot.")
