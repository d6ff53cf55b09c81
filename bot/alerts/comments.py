"""Alerts on comments: rules that say ``in:comments`` match the comments tgmon captures
(rules match posts only unless they say so).

The comment alerter reads the comments stored after its durable cursor (every
``POLL`` seconds: comments are polled from Telegram too), matches each against the
chats' ``in:comments`` rules, and records the alerts with their outbox messages and
the moved cursor in one transaction (:mod:`storage.comment_alerts`); a replay never
alerts twice. Comments dated more than ``FRESH`` before tgmon captured them (a thread
read for the first time) are not news and do not alert; nor do muted chats get them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta
from html import escape

from bot.digest.excerpt import shorten
from bot.failures import failure
from bot.rules import RuleSyntaxError, analyse, compile_rule
from bot.rules.compiler import CompiledRule
from bot.runtime import Runtime
from storage import alerts as rules_store
from storage import comment_alerts as store
from storage.chats import Chat
from storage.comment_alerts import CommentAlert, StoredComment
from storage.models import comment_url
from storage.outbox import OutMessage

POLL = 30.0                    # seconds between reads of the comments table
FRESH = timedelta(hours=6)     # older comments (first read of a thread) do not alert
EXCERPT = 600                  # characters of the comment shown

log = logging.getLogger(__name__)


def comment_alert_html(c: StoredComment, reason: str) -> str:
    """The alert of a comment (pure): where, who, the text, why it matched, the link."""
    channel = f"@{c.channel.username}" if c.channel.username else (c.channel.title or "")
    who = c.comment.from_name or (f"@{c.comment.from_username}" if c.comment.from_username
                                  else f"user {c.comment.from_id}")
    url = comment_url(c.channel.username, c.channel.channel_id, c.comment.post_id,
                      c.comment.comment_id)
    return (f"💬 <b>Comment</b> on {escape(channel)}'s post {c.comment.post_id} by "
            f"{escape(who)}\n{escape(shorten(c.comment.text, EXCERPT))}\n"
            f"<i>Matched: {escape(reason)}</i>\n{escape(url)}")


class CommentAlerts:
    name = "comment-alerts"

    def __init__(self, poll: float = POLL) -> None:
        self.poll = poll
        self.rt: Runtime | None = None
        self._task: asyncio.Task[None] | None = None
        self._compiled: dict[str, CompiledRule | None] = {}

    async def start(self, rt: Runtime) -> None:
        self.rt = rt
        await store.start_cursor(rt.db, rt.now())
        self._task = asyncio.create_task(self._loop(), name="comment-alerts")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.rt = None

    async def _loop(self) -> None:
        while self.rt is not None:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.error("comment alerts failed: %s; tried again in %s s", failure(e, []),
                          self.poll)
            await asyncio.sleep(self.poll)

    def _rule(self, text: str) -> CompiledRule | None:
        if text not in self._compiled:
            try:
                self._compiled[text] = compile_rule(text)
            except RuleSyntaxError:
                self._compiled[text] = None
        return self._compiled[text]

    async def run_once(self) -> bool:
        """Handle one batch after the cursor; True if there may be more."""
        rt = self.rt
        assert rt is not None
        cursor = await store.read_cursor(rt.db) or 0
        batch = await store.comments_after(rt.db, cursor)
        if not batch:
            return False
        rules = [(r, self._rule(r.text)) for r in await rules_store.all_live_rules(rt.db)
                 if "in:comments" in r.text.lower()]
        chats = await rules_store.chats_by_id(rt.db, {r.chat_id for r, _ in rules})
        now = rt.now()
        alerts = []
        for c in batch:
            if c.first_seen - c.comment.date > FRESH:
                continue
            analysed = analyse(c.comment.text, c.channel.username, c.channel.channel_id,
                               comment=True)
            by_chat: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for saved, compiled in rules:
                match = compiled.match(analysed) if compiled is not None else None
                if match is not None:
                    by_chat[saved.chat_id].append((saved.id, match.reason))
            for chat_id, found in by_chat.items():
                chat: Chat | None = chats.get(chat_id)
                if chat is None or chat.muted(now) or chat.blocked_at is not None:
                    continue
                reason = "; ".join(dict.fromkeys(r for _, r in found))
                alerts.append(CommentAlert(
                    chat_id, c.row_id, reason, ",".join(str(i) for i, _ in found),
                    OutMessage(chat_id, "alert", comment_alert_html(c, reason),
                               dedup_key=f"comment-alert:{chat_id}:{c.row_id}")))
        added = await store.record(rt.db, alerts, batch[-1].row_id, now)
        if added:
            rt.outbox_changed.notify()
        return len(batch) >= 200
