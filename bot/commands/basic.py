"""/start, /help, /timezone, /mute, /unmute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from bot.commands.access import refusal
from bot.commands.context import Button, Context
from bot.commands.router import Access, Router, help_text
from bot.rules.help import RULES_HELP
from bot.timefmt import local
from config.durations import parse_duration
from config.errors import TgmonError
from config.zones import UnknownZoneError, parse_zone
from storage.alerts import release_held
from storage.chats import set_muted_until, set_timezone
from storage.digest_schedules import note_changed

router = Router()

FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
MAX_MUTE = timedelta(days=365)          # longer is /mute alone, until /unmute


def muted_until_text(until: datetime, tz: str) -> str:
    """``until 12 Mar 2024 10:00 MSK``, or ``until you send /unmute`` (no local time
    exists for the year 9999 in zones east of UTC)."""
    return "until you send /unmute" if until >= FOREVER else f"until {local(until, tz)}"


@router.command("start", summary="what this bot does", access=Access.EVERYONE)
async def start(ctx: Context) -> None:
    intro = ("<b>tgmon</b> watches Telegram channels and tells you when they post what you "
             "care about: subscribe to a channel, or set an alert rule such as "
             "<code>Тёткино OR Tyotkino</code>. A daily digest sums up what was posted, "
             "edited and deleted.")
    if ctx.level == Access.EVERYONE:
        why = refusal(Access.MEMBER, ctx.level, ctx.rt.settings, ctx.user_id)
        await ctx.reply(f"{intro}\n\n{why}")
        return
    await ctx.reply(f"{intro}\n\nStart with /channels, then /subscribe or /alert. "
                    "Send /help for every command.")


@router.command("help", "[COMMAND]", summary="the commands, or the help of one",
                access=Access.EVERYONE)
async def help_(ctx: Context, command: str | None) -> None:
    if command and command.lower() in ("rules", "rule") and ctx.level > Access.EVERYONE:
        await ctx.reply(escape(RULES_HELP))
        return
    if command:
        cmd = ctx.router.commands.get(command.lstrip("/").lower())
        if cmd is None or cmd.access > ctx.level:
            raise TgmonError(f"There is no command /{command.lstrip('/')}. Send /help.")
        await ctx.reply(f"<code>{escape(cmd.usage())}</code>\n{escape(cmd.help)}")
        return
    lines = [f"<code>{escape(usage)}</code> — {escape(summary)}"
             for usage, summary in help_text(ctx.router, ctx.level)]
    if ctx.level == Access.EVERYONE:
        lines.append("")
        lines.append(refusal(Access.MEMBER, ctx.level, ctx.rt.settings, ctx.user_id))
    else:
        lines.append("\n<code>/help rules</code> — the rule language of /alert and /test")
    await ctx.reply("\n".join(lines))


@router.command("timezone", "[ZONE]", summary="show or set your time zone",
                help="Times in alerts and digests are shown in this zone. Give an IANA name "
                     "such as Europe/Kyiv, Europe/Moscow or UTC.")
async def timezone(ctx: Context, zone: str | None) -> None:
    if not zone:
        await ctx.reply(f"Your time zone is <b>{escape(ctx.tz)}</b> "
                        f"(now {escape(local(ctx.now(), ctx.tz))}).")
        return
    try:
        parse_zone(zone)
    except UnknownZoneError:
        raise TgmonError(f"Unknown time zone {zone!r}. Use an IANA name such as "
                         "Europe/Kyiv, Europe/Moscow, Europe/Berlin or UTC.") from None
    await set_timezone(ctx.db, ctx.chat_id, zone)
    # earlier due times are not missed ones, and the chat's digest moves to the new zone
    await note_changed(ctx.db, ctx.chat_id, ctx.now())
    scheduler = ctx.digests()
    if scheduler is not None:
        await scheduler.sync_chat(ctx.chat_id)
    await ctx.reply(f"Time zone set to <b>{escape(zone)}</b> "
                    f"(now {escape(local(ctx.now(), zone))}).")


@router.command("mute", "[DURATION]", summary="hold alerts back for a while",
                help="/mute 2h holds alerts back for two hours; /mute alone until /unmute. "
                     "Durations: 30m, 2h, 1d, 1h30m. Digests still arrive.")
async def mute(ctx: Context, duration: str | None) -> None:
    if duration:
        try:
            span = parse_duration(duration)
        except (ValueError, OverflowError) as e:
            raise TgmonError(f"{e}.") from None
        if span > MAX_MUTE:
            raise TgmonError("Mute for at most 365 days; /mute alone mutes until /unmute.")
        until = ctx.now() + span
        await set_muted_until(ctx.db, ctx.chat_id, until)
        await ctx.reply(f"Alerts muted until {escape(local(until, ctx.tz))}. /unmute to resume.")
    else:
        await set_muted_until(ctx.db, ctx.chat_id, FOREVER)
        await ctx.reply("Alerts muted until you send /unmute.")


@router.command("unmute", summary="resume alerts")
async def unmute(ctx: Context) -> None:
    await set_muted_until(ctx.db, ctx.chat_id, None)
    held, first = await release_held(ctx.db, ctx.chat_id)
    if not held:
        await ctx.reply("Alerts resumed.")
        return
    await ctx.reply(f"Alerts resumed. While muted, {held} post{'s' if held > 1 else ''} "
                    "matched here; they were not sent.", [[Button("Show them", f"held:{first}")]])
