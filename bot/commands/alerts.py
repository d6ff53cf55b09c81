"""/alert, /alerts, /unalert, /test, /edits and their buttons.

Rules belong to the chat they were written in: a person's private chat, or a group (a
desk's shared rules; anyone the access mode lets in may add and remove them there).
"""

from __future__ import annotations

from html import escape

from bot.alerts.format import bold_text, excerpt_range
from bot.commands.basic import muted_until_text
from bot.commands.context import Button, Context
from bot.commands.router import Router
from bot.commands.webhooks import describe as webhook_line
from bot.rules import RuleSyntaxError, compile_rule
from bot.rules.compiler import CompiledRule
from bot.rules.trial import RuleTrial, default_period, try_rule
from bot.timefmt import local
from config.errors import TgmonError
from storage.alerts import released_since, rule_of_chat
from storage.chats import set_edit_alerts
from storage.subscriptions import SavedRule, add_rule, delete_rule, live_rules, subscribed_channels
from storage.webhooks import webhook_of

router = Router()

MAX_RULES = 50                  # per chat
MAX_RULE_LENGTH = 300           # characters
MAX_BUTTONS = 20
TEST_SHOWN = 5                  # latest matches /test shows
SNIPPET = 160                   # UTF-16 units of a post shown by /test
BUTTON_DATA = 64                # Telegram's limit on a button's data, in bytes
HELD_SHOWN = 20

RULE_HELP = ("Rules: words in any form, OR, -word, \"exact phrase\", prefix*, #tag, "
             "from:channel, /regex/. Send /help rules for the whole language.")


def _where(ctx: Context) -> str:
    return "this group's" if ctx.is_group else "your"


def _rule_text(rule: str) -> str:
    """A rule as one line: Telegram keeps newlines, rules do not need them."""
    text = " ".join(rule.split())
    if len(text) > MAX_RULE_LENGTH:
        raise TgmonError(f"That rule is {len(text)} characters long; keep it under "
                         f"{MAX_RULE_LENGTH}. Split it into several /alert rules.")
    return text


async def _compiled(ctx: Context, text: str) -> CompiledRule | None:
    """The compiled rule, or None after answering with what is wrong and where."""
    try:
        return compile_rule(text)
    except RuleSyntaxError as e:
        await ctx.reply(f"That rule has a problem: {escape(e.message)}\n"
                        f"<pre>{escape(e.pointer())}</pre>\n"
                        "Fix it and send it again; /help rules describes the language.")
        return None


def _period_note(trial: RuleTrial) -> str:
    deleted = f", {trial.deleted} of them deleted since" if trial.deleted else ""
    return (f"In the last 30 days it would have matched <b>{trial.matched}</b> of "
            f"{trial.scanned} stored posts{deleted}.")


def _save_button(text: str) -> Button | None:
    data = f"save:{text}"
    return Button("Save as alert", data) if len(data.encode()) <= BUTTON_DATA else None


async def _add(ctx: Context, text: str) -> None:
    compiled = await _compiled(ctx, text)
    if compiled is None:
        return
    rules = await live_rules(ctx.db, ctx.chat_id)
    for number, r in enumerate(rules, start=1):
        if r.text == text:
            await ctx.reply(f"{_where(ctx).capitalize()} alert {number} is this rule already: "
                            f"<code>{escape(text)}</code>. See /alerts.")
            return
    if len(rules) >= MAX_RULES:
        raise TgmonError(f"You have {len(rules)} alerts, the most a chat may have. Remove "
                         "one with /unalert N, or join rules with OR.")
    saved = await add_rule(ctx.db, ctx.chat_id, text, ctx.user_id, ctx.now())
    ctx.rt.rules_changed.notify()
    trial = await try_rule(ctx.db, compiled, *default_period(ctx.now()), limit=0)
    await ctx.reply(f"Alert {len(rules) + 1} saved: <code>{escape(text)}</code>\n"
                    f"{_period_note(trial)} Posts that match from now on are sent here.",
                    [[Button("Undo", f"unalert:{saved.id}")]])


@router.command("alert", "RULE...", summary="alert on posts matching a rule",
                help="/alert Тёткино OR Tyotkino sends every new post that matches the rule "
                     "here, with the matched words in bold. Try a rule first with /test. "
                     + RULE_HELP)
async def alert(ctx: Context, rule: str) -> None:
    await _add(ctx, _rule_text(rule))


@router.callback("save")
async def save_button(ctx: Context, payload: str) -> None:
    await _add(ctx, _rule_text(payload))


@router.command("test", "RULE...", summary="what a rule would have matched (nothing is saved)",
                help="/test Курск OR Kursk counts the stored posts of the last 30 days the rule "
                     f"matches and shows the latest {TEST_SHOWN}, so a rule can be tuned "
                     "before /alert saves it. " + RULE_HELP)
async def test(ctx: Context, rule: str) -> None:
    text = _rule_text(rule)
    compiled = await _compiled(ctx, text)
    if compiled is None:
        return
    trial = await try_rule(ctx.db, compiled, *default_period(ctx.now()), limit=TEST_SHOWN)
    lines = [f"<code>{escape(text)}</code>", _period_note(trial)]
    if trial.latest:
        lines.append("")
        lines.append("The latest:" if trial.matched > len(trial.latest) else "They are:")
    for found in trial.latest:
        stored, m = found.post, found.match
        start, end = excerpt_range(stored.post.text, m.spans, SNIPPET)
        snippet = bold_text(stored.post.text, m.spans, start, end).replace("\n", " ")
        snippet = ("…" if start else "") + snippet + ("…" if end < len(stored.post.text) else "")
        name = f"@{stored.channel.username}" if stored.channel.username \
            else stored.channel.title or str(stored.channel.channel_id)
        gone = " (deleted)" if found.deleted else ""
        lines.append(f'• <a href="{escape(stored.url)}">{escape(name)}</a> '
                     f"{escape(local(stored.post.date, ctx.tz))}{gone}: {snippet}")
    button = _save_button(text)
    await ctx.reply("\n".join(lines), [[button]] if button else None)


@router.command("alerts", summary="your alert rules, numbered",
                help="Lists this chat's alert rules with their numbers (for /unalert N), "
                     "a button to remove each, and the channels it is subscribed to.")
async def alerts(ctx: Context) -> None:
    rules = await live_rules(ctx.db, ctx.chat_id)
    lines = []
    buttons: list[Button] = []
    if rules:
        lines.append(f"<b>{_where(ctx).capitalize()} alerts</b>")
        for number, r in enumerate(rules, start=1):
            lines.append(f"{number}. <code>{escape(r.text)}</code>")
            if len(buttons) < MAX_BUTTONS:
                buttons.append(Button(f"✖ {number}", f"unalert:{r.id}"))
    else:
        lines.append("No alerts yet. Add one with /alert, e.g. "
                     "<code>/alert Тёткино OR Tyotkino</code> (/help rules).")
    subs = await subscribed_channels(ctx.db, ctx.chat_id)
    if subs:
        names = ", ".join(escape(f"@{c.username}" if c.username else c.title or str(c.channel_id))
                          for c in subs)
        lines.append(f"\nSubscribed to {names} (/unsubscribe CHANNEL).")
    state = "on" if ctx.chat.edit_alerts else "off"
    lines.append(f"Edit and deletion alerts: {state} (/edits {'off' if state == 'on' else 'on'}).")
    if ctx.chat.muted(ctx.now()):
        until = muted_until_text(ctx.chat.muted_until or ctx.now(), ctx.tz)
        lines.append(f"Muted {escape(until)} (/unmute).")
    if await webhook_of(ctx.db, ctx.chat_id) is not None:
        lines.append(await webhook_line(ctx))
    rows = [buttons[i:i + 5] for i in range(0, len(buttons), 5)]
    await ctx.reply("\n".join(lines), rows or None)


async def _remove(ctx: Context, rule: SavedRule, number: int | None) -> None:
    await delete_rule(ctx.db, rule.id, ctx.now())
    ctx.rt.rules_changed.notify()
    label = f"Alert {number}" if number else "Alert"
    await ctx.reply(f"{label} removed: <code>{escape(rule.text)}</code>",
                    [[Button("Undo", f"readd:{rule.id}")]])


@router.command("unalert", "N", summary="remove alert rule N (see /alerts)",
                help="/unalert 2 removes rule 2 of /alerts; the rules after it move up.")
async def unalert(ctx: Context, n: str) -> None:
    if not n.isdigit():
        raise TgmonError(f"{n!r} is not a number: give the number of an alert in /alerts, "
                         "e.g. /unalert 2.")
    rules = await live_rules(ctx.db, ctx.chat_id)
    number = int(n)
    if not rules:
        raise TgmonError("There are no alerts to remove here. /alert RULE adds one.")
    if not 1 <= number <= len(rules):
        raise TgmonError(f"There is no alert {number}: {_where(ctx)} alerts are numbered "
                         f"1 to {len(rules)} (see /alerts).")
    await _remove(ctx, rules[number - 1], number)


@router.callback("unalert")
async def unalert_button(ctx: Context, payload: str) -> None:
    rule = await rule_of_chat(ctx.db, ctx.chat_id, payload)
    if rule is None or rule.deleted:
        await ctx.reply("That alert was removed already. See /alerts.")
        return
    rules = await live_rules(ctx.db, ctx.chat_id)
    number = next((i for i, r in enumerate(rules, start=1) if r.id == rule.rule.id), None)
    await _remove(ctx, rule.rule, number)


@router.callback("readd")
async def readd_button(ctx: Context, payload: str) -> None:
    rule = await rule_of_chat(ctx.db, ctx.chat_id, payload)
    if rule is None:
        await ctx.reply("That alert is not this chat's. See /alerts.")
        return
    await _add(ctx, rule.rule.text)


@router.command("edits", "[STATE]", summary="on: also alert on edits and deletions",
                help="/edits on: when a post that alerted here is edited, an alert shows what "
                     "changed (removed words struck through, new ones underlined); when it is "
                     "deleted, one shows the text tgmon archived. /edits off stops them.")
async def edits(ctx: Context, state: str | None) -> None:
    if state is None:
        now = "on" if ctx.chat.edit_alerts else "off"
        await ctx.reply(f"Edit and deletion alerts are {now}. /edits on or /edits off.")
        return
    choice = state.lower()
    if choice not in ("on", "off"):
        raise TgmonError(f"/edits takes on or off, not {state!r}.")
    await set_edit_alerts(ctx.db, ctx.chat_id, choice == "on")
    if choice == "on":
        await ctx.reply("Edit and deletion alerts are on: you will also hear when a post "
                        "that alerted here is edited or deleted.")
    else:
        await ctx.reply("Edit and deletion alerts are off.")


@router.callback("held")
async def held_button(ctx: Context, payload: str) -> None:
    if not payload.isdigit():
        return
    found, total = await released_since(ctx.db, ctx.chat_id, int(payload), HELD_SHOWN)
    if not found:
        await ctx.reply("Nothing was held back.")
        return
    lines = [f"<b>Held back while muted</b> ({total})"]
    for stored, reason in found:
        name = f"@{stored.channel.username}" if stored.channel.username \
            else stored.channel.title or str(stored.channel.channel_id)
        first = " ".join(stored.post.text.split())
        first = first if len(first) <= 80 else first[:79] + "…"
        lines.append(f'• <a href="{escape(stored.url)}">{escape(name)}</a> '
                     f"{escape(local(stored.post.date, ctx.tz))} — {escape(first)} "
                     f"<i>({escape(reason)})</i>")
    if total > len(found):
        lines.append(f"… and {total - len(found)} more.")
    await ctx.reply("\n".join(lines))
