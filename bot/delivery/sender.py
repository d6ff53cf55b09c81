"""The one task that sends what the outbox holds, keeping Telegram's limits.

Replies to commands, alerts, digests and exports are all recorded in the outbox first
(``storage.outbox``) and sent here in priority order, each chat in its own order. A
flood wait pauses all sending for as long as Telegram says (Telethon itself refuses
further sends of the same kind until then); a chat that blocked the bot is marked and
its pending messages dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from bot.commands.context import Buttons
from bot.delivery.fit import CAPTION_LIMIT, TEXT_LIMIT, plain_fallback, telegram_length
from bot.delivery.limits import RateLimiter, SendLimits
from bot.delivery.retry import Step, after_failure
from bot.media.policy import photo_alert
from bot.runtime import Runtime
from bot.tasks import run_rounds, stop_tasks
from bot.telegram.errors import classify
from bot.telegram.send import deliver
from storage import media, outbox
from storage.chats import mark_blocked

log = logging.getLogger(__name__)

EDIT_RETRY = 2.0                 # seconds between looks at the message an edit waits for
PHOTO_RECHECK = 1.0              # seconds between looks at the photo an alert waits for


class Sender:
    name = "sender"

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limiter = RateLimiter(limits or SendLimits())
        self.rt: Runtime | None = None
        self.paused_until: datetime | None = None
        self.flood_waits = 0            # for /status
        self.unreachable = False        # the last send could not reach Telegram
        self.batch = 500                # chats looked at per round
        self._task: asyncio.Task[None] | None = None

    def attach(self, rt: Runtime) -> None:
        # Commands answered during the catch-up at connect are queued before start().
        self.rt = rt if rt.bot is not None else None

    async def start(self, rt: Runtime) -> None:
        if rt.bot is None:
            return
        self._task = asyncio.create_task(self._run(), name="outbox sender")

    async def stop(self) -> None:
        await stop_tasks([self._task])
        self._task, self.rt = None, None

    def messenger(self) -> OutboxMessenger:
        return OutboxMessenger(self)

    async def _run(self) -> None:
        assert self.rt is not None
        await run_rounds(self._round, self.rt.outbox_changed.wait, what="sender", retry=5.0,
                         log=log)

    async def _round(self) -> float | None:
        """Send what may go now. Returns how long to wait before the next round
        (None: until something is enqueued)."""
        rt = self.rt
        assert rt is not None
        now = rt.now()
        if self.paused_until and now < self.paused_until:
            return (self.paused_until - now).total_seconds()
        batch = await outbox.due(rt.db, now, self.batch, heads=True)
        if not batch:
            nxt = await outbox.next_due_time(rt.db)
            return None if nxt is None else max((nxt - now).total_seconds(), 0.0)
        waits: list[float] = []
        seen_chats: set[int] = set()
        for item in batch:
            if item.chat_id in seen_chats:      # each chat's messages go in order
                continue
            seen_chats.add(item.chat_id)
            if item.chat_blocked:
                await outbox.drop_chat(rt.db, item.chat_id, "the chat blocked the bot")
                continue
            now = rt.now()
            ts = now.timestamp()
            at = self.limiter.earliest(item.chat_id, item.chat_kind == "group", ts)
            if at > ts:
                waits.append(at - ts)
                continue
            await self._send(item)
            if self.paused_until:
                break
        return min(waits) if waits else 0.0

    async def _send(self, item: outbox.Pending) -> None:
        rt = self.rt
        assert rt is not None and rt.bot is not None
        msg = item.message
        now = rt.now()
        if msg.edit_of is not None and item.target_message_id is None:
            # An edit waits for the message it edits; if that was never sent, it is moot.
            if item.target_status == "pending":
                await outbox.retry_later(rt.db, item.id, "waiting for the message it edits",
                                         now + timedelta(seconds=EDIT_RETRY))
            else:
                await outbox.give_up(rt.db, item.id, "the message it edits was not sent")
            return
        photo: Path | None = None
        text = msg.html
        if msg.edit_of is not None and item.target_sent_photo and msg.caption_html:
            text = msg.caption_html             # the message it edits is a photo's caption
        elif msg.media_item is not None and msg.edit_of is None:
            path = rt.settings.media_path / item.photo_path if item.photo_path else None
            paused = item.photo_status == "pending" and await media.get_pause(rt.db) is not None
            how = photo_alert(item.photo_status, path is not None and path.is_file(),
                              item.photo_queued_at, now, paused=paused)
            if how == "wait":
                await outbox.wait_until(rt.db, item.id, "waiting for the post's photo",
                                        now + timedelta(seconds=PHOTO_RECHECK))
                return
            if how == "photo" and msg.caption_html:
                photo, text = path, msg.caption_html
        try:
            sent = await self._deliver(item, text, photo)
        except Exception as e:
            failed = classify(e, "bot")
            then = after_failure(failed, item.attempts, now)
            if then.step is Step.RAISE:
                raise
            if then.step is Step.PAUSE:
                assert then.until is not None
                self.flood_waits += 1
                self.paused_until = then.until
                log.warning("flood wait %s s: sending paused", failed.seconds)
                await outbox.retry_later(rt.db, item.id, then.reason, then.until)
                return
            if then.step is Step.WAIT:
                self.paused_until = then.until
                if not self.unreachable:
                    log.info("cannot reach Telegram (%s): sending waits until it can",
                             failed.error)
                self.unreachable = True
                return
            if then.step is Step.DROP_CHAT:
                log.info("chat %s cannot be written to (%s): dropped", item.chat_id,
                         failed.error)
                await mark_blocked(rt.db, item.chat_id, now)
                await outbox.drop_chat(rt.db, item.chat_id, then.reason)
                return
            if then.step is Step.PLAIN:
                caption = msg.file_data is not None or photo is not None \
                    or text is msg.caption_html
                limit = CAPTION_LIMIT if caption else TEXT_LIMIT
                log.error("outbox %s too long (%s, %s units): sent as plain text", item.id,
                          failed.error, telegram_length(text))
                try:
                    sent = await self._deliver(item, plain_fallback(text, limit), photo)
                except Exception as e2:
                    again = classify(e2, "bot")
                    if not again.telegram:
                        raise
                    await outbox.give_up(rt.db, item.id, again.error)
                    return
            elif then.step is Step.DONE:
                sent = item.target_message_id   # the message already says this
            elif then.step in (Step.GIVE_UP, Step.FAILED):
                if then.step is Step.FAILED:
                    log.error("outbox %s failed for good: %s", item.id, then.reason)
                await outbox.give_up(rt.db, item.id, then.reason)
                return
            else:
                assert then.until is not None
                await outbox.retry_later(rt.db, item.id, then.reason, then.until)
                return
        self.paused_until = None
        if self.unreachable:
            self.unreachable = False
            log.info("Telegram is reachable again: sending goes on")
        self.limiter.record(item.chat_id, item.chat_kind == "group", rt.now().timestamp())
        await outbox.mark_sent(rt.db, item.id, sent, rt.now(),
                               photo=photo is not None or (msg.edit_of is not None
                                                           and item.target_sent_photo))

    async def _deliver(self, item: outbox.Pending, html_text: str,
                       photo: Path | None = None) -> int | None:
        bot = self.rt.bot if self.rt else None
        assert bot is not None
        msg = item.message
        return await deliver(
            bot, item.chat_id, html_text, buttons=msg.buttons,
            edit=item.target_message_id if msg.edit_of is not None else None,
            file_data=msg.file_data, file_name=msg.file_name, as_photo=msg.as_photo,
            reply_to=item.reply_to_message_id, photo=photo)


class OutboxMessenger:
    """Command replies, through the outbox like everything else (first in line)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def reply(self, chat_id: int, html: str, buttons: Buttons | None = None) -> None:
        rt = self.sender.rt
        assert rt is not None
        rows = tuple(tuple((b.label, b.data) for b in row) for row in buttons or ())
        await outbox.put(rt.db, outbox.OutMessage(chat_id, "reply", html, rows), rt.now())
        rt.outbox_changed.notify()
