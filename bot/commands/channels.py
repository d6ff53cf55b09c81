"""/channels, /subscribe, /unsubscribe (and their buttons)."""

from __future__ import annotations

from html import escape

from bot.commands.context import Button, Context
from bot.commands.router import Router
from bot.timefmt import local
from config.errors import TgmonError
from storage.models import channel_url
from storage.posts import last_post_dates
from storage.subscriptions import subscribe as add_subscription
from storage.subscriptions import subscribed_channels
from storage.subscriptions import unsubscribe as drop_subscription
from storage.watchlist import WatchEntry, find_entry, live_entries

router = Router()

MAX_BUTTONS = 20


def _link(e: WatchEntry) -> str:
    name = escape(e.title or e.label or e.username)
    if e.channel_id is None:
        return f"{name} (@{escape(e.username)})"
    url = channel_url(e.username, e.channel_id)
    return f'<a href="{escape(url)}">{name}</a> @{escape(e.username)}'


@router.command("channels", summary="the watched channels and their last post")
async def channels(ctx: Context) -> None:
    entries = await live_entries(ctx.db)
    if not entries:
        await ctx.reply("No channels are watched yet. Admins add them with /watch.")
        return
    last = await last_post_dates(ctx.db, [e.channel_id for e in entries if e.channel_id])
    mine = {c.channel_id for c in await subscribed_channels(ctx.db, ctx.chat_id)}
    lines = ["<b>Watched channels</b>"]
    buttons: list[Button] = []
    for e in entries:
        when = last.get(e.channel_id or 0)
        state = f"last post {escape(local(when, ctx.tz))}" if when else "no posts yet"
        if e.status != "ok":
            state = f"{escape(e.status)}: {escape(e.status_detail or '')}".rstrip(": ")
        tick = " ✓" if e.channel_id in mine else ""
        lines.append(f"• {_link(e)}{tick} — {state}")
        if e.channel_id and e.channel_id not in mine and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(f"Subscribe @{e.username}", f"sub:{e.channel_id}"))
    lines.append("\n✓ = subscribed. /subscribe CHANNEL for every post of a channel.")
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    await ctx.reply("\n".join(lines), rows or None)


async def _watched(ctx: Context, ref: str) -> WatchEntry:
    entry = await find_entry(ctx.db, ref)
    if entry is None:
        raise TgmonError(f"{ref} is not a watched channel. See /channels; admins can add "
                         f"it with /watch {ref.lstrip('@')}.")
    if entry.channel_id is None:
        raise TgmonError(f"@{entry.username} is not resolved yet ({entry.status}); "
                         "try again in a minute.")
    return entry


async def _subscribe(ctx: Context, entry: WatchEntry) -> None:
    assert entry.channel_id is not None
    added = await add_subscription(ctx.db, ctx.chat_id, entry.channel_id, ctx.user_id, ctx.now())
    verb = "Subscribed to" if added else "Already subscribed to"
    await ctx.reply(f"{verb} {_link(entry)}: every post will be sent here.",
                    [[Button("Undo", f"unsub:{entry.channel_id}")]] if added else None)


async def _unsubscribe(ctx: Context, entry: WatchEntry) -> None:
    assert entry.channel_id is not None
    if await drop_subscription(ctx.db, ctx.chat_id, entry.channel_id):
        await ctx.reply(f"Unsubscribed from {_link(entry)}.")
    else:
        await ctx.reply(f"You were not subscribed to {_link(entry)}.")


@router.command("subscribe", "CHANNEL", summary="get every post of a channel",
                help="/subscribe rybar sends every post of @rybar here. CHANNEL is a watched "
                     "channel's username (with or without @); see /channels.")
async def subscribe(ctx: Context, channel: str) -> None:
    await _subscribe(ctx, await _watched(ctx, channel))


@router.command("unsubscribe", "CHANNEL", summary="stop getting every post of a channel")
async def unsubscribe(ctx: Context, channel: str) -> None:
    await _unsubscribe(ctx, await _watched(ctx, channel))


@router.callback("sub")
async def subscribe_button(ctx: Context, payload: str) -> None:
    await _subscribe(ctx, await _watched(ctx, payload))


@router.callback("unsub")
async def unsubscribe_button(ctx: Context, payload: str) -> None:
    await _unsubscribe(ctx, await _watched(ctx, payload))
