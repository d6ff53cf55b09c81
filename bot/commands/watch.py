"""Admins' commands about the watch list and the capture: /watch, /unwatch, /find (and
its buttons), /status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from bot.commands.context import Button, Context, WatchOps
from bot.commands.router import Access, Router
from bot.telegram.requests import Resolution
from bot.timefmt import local
from config.accounts import MAIN
from config.channels import USERNAME_RE, normalize_username
from config.errors import TgmonError
from storage import outbox
from storage.account_ends import recent_ends
from storage.accounts import AccountFigures, account_figures
from storage.capture import all_states, event_counts
from storage.comments import set_comments
from storage.models import channel_url
from storage.posts import last_post_dates
from storage.watchlist import WatchEntry, find_entry, live_entries

router = Router()

MAX_FOUND = 8


def _watcher(ctx: Context) -> WatchOps:
    watcher = ctx.services.watcher
    if watcher is None or not watcher.running:
        raise TgmonError("The watcher is not running in this tgmon.")
    return watcher


def _username(ref: str) -> str:
    name = normalize_username(ref)
    if not USERNAME_RE.match(name):
        raise TgmonError(f"{ref} is not a channel username (4-32 letters, digits or _). "
                         "Give @name or a t.me link; /find searches channels by title.")
    return name


def _channel(entry: WatchEntry) -> str:
    name = f"@{escape(entry.username)}"
    if entry.channel_id is None:
        return name
    url = escape(channel_url(entry.username, entry.channel_id))
    title = f"<b>{escape(entry.title)}</b> " if entry.title else ""
    return f'{title}<a href="{url}">{name}</a>'


async def _answer(ctx: Context, name: str, entry: WatchEntry,
                  outcome: Resolution | None) -> None:
    if outcome is None:
        await ctx.reply(f"Looking up @{escape(name)} is queued (Telegram limits how often "
                        "names can be looked up). You will get a notice if it fails; "
                        "/status shows it once it is watched.")
    elif outcome.status == "ok":
        window = escape(_hours(ctx.rt.settings.initial_window))
        await ctx.reply(f"Now watching {_channel(entry)}. Its posts of the last {window} are "
                        "being read now; /status shows how capture goes.")
    else:
        await ctx.reply(f"Cannot watch @{escape(name)}: {escape(outcome.detail or '')}.")


def _hours(d: timedelta) -> str:
    hours = d.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"


COMMENTS_WORDS = {"comments": True, "nocomments": False}


@router.command("watch", "CHANNEL [COMMENTS]", summary="watch a channel (username or t.me link)",
                help="/watch rybar adds @rybar to the watched channels: tgmon looks the name "
                     "up once, reads its recent posts and captures every post from now on. "
                     "/watch rybar comments also captures the comments of its discussion "
                     "group; /watch rybar nocomments stops that.",
                access=Access.ADMIN)
async def watch(ctx: Context, channel: str, comments: str | None = None) -> None:
    name = _username(channel)
    if comments is not None:
        word = comments.strip().lower()
        if word not in COMMENTS_WORDS:
            raise TgmonError(f"{comments} is not comments or nocomments: /watch {name} "
                             f"comments captures its comments, /watch {name} nocomments stops.")
        await set_comments(ctx.db, name, COMMENTS_WORDS[word], ctx.user_id, ctx.now())
        state = "captured" if COMMENTS_WORDS[word] else "no longer captured"
        note = (" (from the next pass over its recent posts, if it has a discussion group)"
                if COMMENTS_WORDS[word] else "; those captured stay in the log")
        await ctx.reply(f"Comments of @{escape(name)} are {state}{note}.")
        if await find_entry(ctx.db, name) is not None:
            return
    existing = await find_entry(ctx.db, name)
    if existing is not None and existing.resolved:
        await ctx.reply(f"Already watching {_channel(existing)}.")
        return
    entry, outcome = await _watcher(ctx).watch(name, ctx.user_id)
    await _answer(ctx, name, entry, outcome)


@router.command("unwatch", "CHANNEL", summary="stop watching a channel",
                help="/unwatch rybar stops capturing @rybar. What was captured stays in the "
                     "log.", access=Access.ADMIN)
async def unwatch(ctx: Context, channel: str) -> None:
    entry = await find_entry(ctx.db, channel)
    if entry is None:
        raise TgmonError(f"{channel} is not a watched channel; see /status.")
    await _watcher(ctx).unwatch(entry)
    note = ""
    if entry.source == "config":
        note = (" It is in the channels file: remove it there too, or it is watched again "
                "when tgmon restarts.")
    await ctx.reply(f"Stopped watching {_channel(entry)}. Its captured posts stay in the "
                    f"log.{note}")


@router.command("find", "NAME...", summary="search public channels by name",
                help="/find легион lists public channels whose title or username matches, "
                     "each with a button to watch it.", access=Access.ADMIN)
async def find(ctx: Context, name: str) -> None:
    found = (await _watcher(ctx).search(name))[:MAX_FOUND]
    if not found:
        await ctx.reply(f"No public channel matches “{escape(name)}”.")
        return
    watched = {e.channel_id for e in await live_entries(ctx.db) if e.channel_id}
    lines = [f"<b>Channels matching “{escape(name)}”</b>"]
    buttons: list[list[Button]] = []
    for access in found:
        ch = access.channel
        username = ch.username or ""
        tick = " ✓ watched" if ch.channel_id in watched else ""
        lines.append(f"• <b>{escape(ch.title or username)}</b> @{escape(username)}{tick}")
        if not tick:
            buttons.append([Button(f"Watch @{username}", f"watch:{ch.channel_id}:{username}")])
    await ctx.reply("\n".join(lines), buttons or None)


@router.callback("watch", access=Access.ADMIN)
async def watch_button(ctx: Context, payload: str) -> None:
    cid, _, username = payload.partition(":")
    watcher = _watcher(ctx)
    entry = await watcher.watch_found(int(cid), ctx.user_id) if cid.isdigit() else None
    if entry is not None:
        await _answer(ctx, entry.username, entry, Resolution("ok"))
        return
    await watch(ctx, username)            # no longer remembered: look the name up


@router.command("status", summary="how capture goes, per channel and account",
                help="Per watched channel: its state, the watching account that holds it "
                     "(joined or polled), last post, when tgmon last captured and checked "
                     "it, flood waits and failures in the last 24 hours; per watching "
                     "account: its state, the channels it holds, joined and polled, its "
                     "flood waits and failures in the last 24 hours; then reconnects, "
                     "accounts Telegram ended in the last 7 days, and the bot's delivery "
                     "queue.", access=Access.ADMIN)
async def status(ctx: Context) -> None:
    now = ctx.now()
    entries = await live_entries(ctx.db)
    states = await all_states(ctx.db)
    counts = await event_counts(ctx.db, now - timedelta(hours=24))
    last = await last_post_dates(ctx.db, [e.channel_id for e in entries if e.channel_id])
    watcher = ctx.services.watcher
    health = watcher.health if watcher is not None else {}

    def when(dt: datetime | None) -> str:
        return escape(local(dt, ctx.tz)) if dt else "never"

    figures = await account_figures(ctx.db, now - timedelta(hours=24))
    several = len(figures) > 1          # one account: only a polled channel says so
    lines = [f"<b>Capture</b> — {len(entries)} channels"]
    for e in entries:
        state = states.get(e.channel_id or 0)
        head = f"• {_channel(e)} — {escape(e.status)}"
        if e.status != "ok" and e.status_detail:
            head += f": {escape(e.status_detail)}"
        if e.account is not None and several:
            head += f" · {escape(e.account)}" + (f", {e.mode}" if e.mode else "")
        elif e.mode == "polled":
            head += " · polled"
        lines.append(head)
        if e.channel_id is None:
            continue
        facts = [f"last post {when(last.get(e.channel_id))}",
                 f"captured {when(state.last_capture if state else None)}",
                 f"checked {when(state.synced_at if state else None)}"]
        floods = counts.of(e.channel_id, "flood_wait")
        if floods:
            facts.append(f"flood waits {floods}")
        h = health.get(e.channel_id)
        if h is not None and h.failing:
            facts.append(f"failing ({escape(h.last_error or '?')}), retrying")
        elif counts.of(e.channel_id, "error"):
            facts.append(f"errors {counts.of(e.channel_id, 'error')}")
        lines.append("   " + " · ".join(facts))
    lines += _accounts(ctx, figures, when)
    reconnects = counts.client.get("reconnect", 0)
    lines.append(f"Reconnects (24 h): {reconnects}")
    for end in await recent_ends(ctx.db, now - timedelta(days=7)):
        who = "the bot" if end.role != "user" else "the watching account" \
            if len(ctx.rt.accounts.all) == 1 and end.account in (None, MAIN) \
            else f"the watching account {escape(end.account or MAIN)}"
        back = f"; running again since {when(end.resumed_at)}" if end.resumed_at else ""
        lines.append(f"⛔ Telegram ended {who} {when(end.at)} "
                     f"(<code>{escape(end.code)}</code>){back}")
    sender = ctx.services.delivery
    queue = await outbox.pending_count(ctx.db)
    bot_floods = sender.flood_waits if sender is not None else None
    delivery = f"Delivery queue: {queue} waiting"
    if bot_floods is not None:
        delivery += f" · bot flood waits since start: {bot_floods}"
    lines.append(delivery)
    await ctx.reply("\n".join(lines))


def _accounts(ctx: Context, figures: list[AccountFigures],
              when: Callable[[datetime | None], str]) -> list[str]:
    """Per watching account: running (in this tgmon), ended, or not running; the
    channels it holds; its flood waits and failures of the last 24 hours."""
    running = set(ctx.rt.accounts.names())
    lines = [f"<b>Watching accounts</b> — {len(running)} running"]
    for a in figures:
        if a.name in running:
            state = "running"
        elif a.ended_code:
            state = f"ended {when(a.ended_at)} (<code>{escape(a.ended_code)}</code>)"
        else:
            state = "not running (not logged in)"
        held = f"{a.held} channels: {a.joined} joined, {a.polled} polled" if a.held \
            else "no channels"
        if a.joining:
            held += f", {a.joining} to join"
        facts = [held]
        if a.flood_waits:
            facts.append(f"flood waits {a.flood_waits}")
        if a.failures:
            facts.append(f"failures {a.failures}")
        lines.append(f"• {escape(a.name)} — {state}")
        lines.append("   " + " · ".join(facts))
    return lines
