"""/webhook: a chat's alerts also POSTed as signed JSON to a URL (docs/webhooks.md).

Admins only: a webhook sends the log's posts out of Telegram, to wherever it points. The
secret is shown once, to the admin: in a group, in the admin's private chat with the bot.
"""

from __future__ import annotations

import secrets
from html import escape

from bot.commands.context import Context
from bot.commands.router import Access, Router
from bot.delivery.webhooks import SIGNATURE_HEADER, url_problem
from bot.timefmt import local
from storage.chats import get_chat
from storage.webhooks import remove_webhook, set_webhook, webhook_of

router = Router()


@router.command("webhook", "[URL]", access=Access.ADMIN,
                summary="also POST this chat's alerts as signed JSON to a URL",
                help="/webhook https://hooks.example.org/tgmon POSTs every alert of this "
                     "chat to that URL too, as JSON (the post as tgmon export writes it, "
                     "the reasons, the link, the kind: new, edit or delete), signed with "
                     f"HMAC-SHA256 in {SIGNATURE_HEADER} under a secret shown once. "
                     "/webhook shows it, /webhook off removes it.")
async def webhook(ctx: Context, url: str | None) -> None:
    if url is None:
        await ctx.reply(await describe(ctx))
        return
    if url.lower() == "off":
        dropped = await remove_webhook(ctx.db, ctx.chat_id)
        waiting = f" ({dropped} undelivered alerts dropped)" if dropped else ""
        await ctx.reply(f"Webhook removed{waiting}: alerts go to this chat only.")
        return
    problem = url_problem(url, ctx.rt.settings.webhook_private)
    if problem is not None:
        await ctx.reply(f"That webhook cannot be used: {escape(problem)}.")
        return
    if ctx.is_group and not await _reachable_privately(ctx):
        await ctx.reply("The webhook's secret is shown to you only, in our private chat: "
                        "write /start to me there first, then set the webhook here again.")
        return
    secret = secrets.token_hex(32)
    await set_webhook(ctx.db, ctx.chat_id, url, secret, ctx.user_id, ctx.now())
    where = f" of {escape(ctx.chat.title or 'this group')}" if ctx.is_group else ""
    shown = (f"The secret of the webhook{where}, shown only now: <code>{secret}</code>\n"
             f"Check each request: {SIGNATURE_HEADER} is <code>sha256=</code> and the "
             "HMAC-SHA256 of the body under this secret. Setting the webhook again makes a "
             "new secret.")
    done = (f"Webhook set: every alert of this chat is also POSTed to "
            f"<code>{escape(url)}</code> as JSON, retried for a day when it fails. "
            "/webhook off removes it.")
    if ctx.is_group:
        # not in the group: its members would all see the secret
        await ctx.messenger.reply(ctx.user_id, shown)
        await ctx.reply(f"{done}\nIts secret was sent to you in our private chat.")
    else:
        await ctx.reply(f"{done}\n{shown}")


async def _reachable_privately(ctx: Context) -> bool:
    """Has the person a private chat with the bot that it may write to?"""
    chat = await get_chat(ctx.db, ctx.user_id)
    return chat is not None and chat.kind == "private" and chat.blocked_at is None


async def describe(ctx: Context) -> str:
    """The chat's webhook in one line (for /webhook and /alerts)."""
    hook = await webhook_of(ctx.db, ctx.chat_id)
    if hook is None:
        return "No webhook (an admin sets one with /webhook https://…)."
    return (f"Webhook: <code>{escape(hook.url)}</code>, set "
            f"{escape(local(hook.created_at, ctx.tz))} (/webhook off).")
