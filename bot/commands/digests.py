"""/digest (schedule, off, on, now) and /export (the log as a file)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.commands.context import Context
from bot.commands.export_args import ExportRequest, parse_export_args
from bot.commands.router import Router
from bot.digest.scheduling.coverage import coverage
from bot.digest.scheduling.plan import Plan, next_due, parse_clock, parse_days, zone
from bot.timefmt import local
from config.errors import TgmonError
from storage import outbox
from storage.channels import find_channel
from storage.digest_schedules import (
    ChatSchedule,
    get_chat_schedule,
    group_sponsor,
    set_enabled,
    set_time,
)
from storage.export import ExportFilter
from storage.export_file import GZIP_OVER, MAX_FILE, ExportTooLarge, build_export_file
from storage.models import Channel
from storage.subscriptions import live_rules

router = Router()

DIGEST_HELP = (
    "/digest shows when your digest comes and what it covers. /digest 07:30 sets its time "
    "(in your /timezone); /digest 07:30 mon,wed only on those days (also mon-fri, or daily "
    "again). /digest off stops it, /digest on resumes it. /digest now sends one right away, "
    "covering the time since the previous one (at most 7 days).")


async def _chat_schedule(ctx: Context) -> ChatSchedule:
    chat = await get_chat_schedule(ctx.db, ctx.chat_id)
    assert chat is not None               # the command framework recorded the chat
    return chat


def _plan(ctx: Context, chat: ChatSchedule) -> Plan:
    return Plan.of(chat, ctx.rt.settings.digest_time, ctx.rt.settings.timezone)


async def _resync(ctx: Context) -> None:
    scheduler = ctx.digests()
    if scheduler is not None:
        await scheduler.sync_chat(ctx.chat_id)


async def _show(ctx: Context) -> None:
    chat = await _chat_schedule(ctx)
    plan = _plan(ctx, chat)
    s = chat.schedule
    default = "" if s.at or s.days else ", the default"
    if not s.enabled:
        lines = [f"Digests are <b>off</b> here. /digest on resumes them "
                 f"({escape(plan.describe())}, {escape(plan.tz)})."]
    else:
        nxt = next_due(plan, ctx.now())
        lines = [f"Digest: <b>{escape(plan.describe())}</b> ({escape(plan.tz)}{default}). "
                 f"Next: {escape(local(nxt, plan.tz))}."]
        if ctx.is_group and await group_sponsor(ctx.db, ctx.chat_id) is None:
            lines.append("This group gets scheduled digests once a member who may use the "
                         "bot sends /digest on here.")
    cover = await coverage(ctx.db, ctx.chat_id)
    what = (f"your {len(cover.channel_ids)} subscribed channel"
            f"{'' if len(cover.channel_ids) == 1 else 's'}" if cover.subscribed
            else f"every watched channel ({len(cover.channel_ids)})")
    rules = len(await live_rules(ctx.db, ctx.chat_id))
    if rules:
        what += f" and your {rules} rule{'' if rules == 1 else 's'}"
    lines.append(f"It covers {what}.")
    if s.period_end is not None:
        lines.append(f"The last one covered up to {escape(local(s.period_end, plan.tz))}.")
    lines.append("Change it: /digest HH:MM [mon,tue,…], /digest off, /digest now.")
    await ctx.reply("\n".join(lines))


async def _set(ctx: Context, words: list[str]) -> None:
    at = parse_clock(words[0])
    days = parse_days(" ".join(words[1:])) if len(words) > 1 else ()
    await set_time(ctx.db, ctx.chat_id, at, days, ctx.user_id, ctx.now())
    await _resync(ctx)
    plan = _plan(ctx, await _chat_schedule(ctx))
    nxt = next_due(plan, ctx.now())
    await ctx.reply(f"Digest set: <b>{escape(plan.describe())}</b> ({escape(plan.tz)}). "
                    f"Next: {escape(local(nxt, plan.tz))}.")


async def _now(ctx: Context) -> None:
    scheduler = ctx.digests()
    if scheduler is None:
        raise TgmonError("Digests are not running in this tgmon; ask its admins.")
    if not await scheduler.send_now(ctx.chat_id):
        await ctx.reply("A digest is already on its way.")


@router.command("digest", "[SETTING...]", summary="your digest: when it comes, or one now",
                help=DIGEST_HELP)
async def digest(ctx: Context, setting: str | None) -> None:
    words = (setting or "").split()
    first = words[0].lower() if words else ""
    if not words:
        await _show(ctx)
    elif first in ("off", "on") and len(words) == 1:
        await set_enabled(ctx.db, ctx.chat_id, first == "on", ctx.user_id, ctx.now())
        await _resync(ctx)
        if first == "off":
            await ctx.reply("Digests stopped. /digest on resumes them.")
        else:
            await _show(ctx)
    elif first == "now" and len(words) == 1:
        await _now(ctx)
    elif first[:1].isdigit():
        await _set(ctx, words)
    else:
        raise TgmonError(f"/digest {setting}: expected HH:MM [weekdays], off, on or now. "
                         "For example /digest 07:30 or /digest 07:30 mon,wed.")


# ---- /export ----

EXPORT_HELP = (
    "/export sends the posts of the last 7 days as a CSV file. In any order: csv or jsonl; "
    "a channel (username or id; all channels if none); 7d, 30d, 12h or since YYYY-MM-DD "
    "(midnight in your /timezone); deleted to include deleted posts. The columns are those "
    "of tgmon export. Files over 1 MB come gzipped; Telegram takes at most 50 MB.")


def _who(channel: Channel | None) -> str:
    if channel is None:
        return "all channels"
    if channel.username:
        return f"@{channel.username}"
    return channel.title or str(channel.channel_id)


def export_file_name(req: ExportRequest, channel: Channel | None, tz_name: str,
                     gzipped: bool) -> str:
    tz = zone(tz_name)
    who = "all" if channel is None else channel.username or f"c{channel.channel_id}"
    span = f"{req.since.astimezone(tz):%Y-%m-%d}_{req.until.astimezone(tz):%Y-%m-%d}"
    return f"tgmon-{who}-{span}.{req.fmt}" + (".gz" if gzipped else "")


def export_caption(req: ExportRequest, channel: Channel | None, tz_name: str, rows: int,
                   gzipped: bool, raw_size: int) -> str:
    packed = f", gzip ({raw_size / 1e6:.1f} MB unpacked)" if gzipped else ""
    deleted = "deleted posts included" if req.deleted else "deleted posts left out"
    return (f"<b>tgmon export</b>: {rows:,} post{'' if rows == 1 else 's'} of "
            f"{escape(_who(channel))}, {escape(local(req.since, tz_name))} to "
            f"{escape(local(req.until, tz_name))}; {req.fmt.upper()}{packed}; {deleted}.")


async def _channel(ctx: Context, ref: str) -> Channel:
    found = await find_channel(ctx.db, ref)
    if found is None:
        raise TgmonError(f"{ref} is not a channel in the log. See /channels; formats are csv "
                         "and jsonl, periods 7d, 30d or since YYYY-MM-DD.")
    return found


@router.command("export", "[OPTIONS...]", summary="the log as a CSV or JSON Lines file",
                help=EXPORT_HELP)
async def export(ctx: Context, options: str | None) -> None:
    now: datetime = ctx.now().replace(microsecond=0)
    req = parse_export_args(options or "", now, zone(ctx.tz))
    channel = await _channel(ctx, req.channel) if req.channel else None
    flt = ExportFilter(channel_ids=(channel.channel_id,) if channel else (), since=req.since,
                       before=req.until, deleted="include" if req.deleted else "exclude")
    try:
        built = await build_export_file(ctx.db, flt, req.fmt, gzip_over=GZIP_OVER,
                                        limit=MAX_FILE)
    except ExportTooLarge as e:
        raise TgmonError(
            f"That export is too large to send: over {e.limit // (1024 * 1024)} MB even "
            f"gzipped ({e.rows:,} posts and counting). Ask for a shorter period (7d) or one "
            "channel, or run tgmon export on the server.") from None
    if built.rows == 0:
        await ctx.reply(f"No posts of {escape(_who(channel))} from "
                        f"{escape(local(req.since, ctx.tz))} to "
                        f"{escape(local(req.until, ctx.tz))}.")
        return
    await outbox.put(ctx.db, outbox.OutMessage(
        ctx.chat_id, "export",
        export_caption(req, channel, ctx.tz, built.rows, built.gzipped, built.raw_size),
        file_name=export_file_name(req, channel, ctx.tz, built.gzipped),
        file_data=built.data), ctx.now())
    ctx.rt.outbox_changed.notify()
