"""The one task that sends what the outbox holds, keeping Telegram's limits.

Replies to commands, alerts, digests and exports are all recorded in the outbox first
(``storage.outbox``) and sent here in priority order, each chat in its own order. A
flood wait pauses all sending for as long as Telegram says (Telethon itself refuses
further sends of the same kind until then); a chat that blocked the bot is marked and
its pending messages dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from datetime import datetime, timedelta
from typing import Any

from telethon import Button as TelethonButton
from telethon import errors

from bot.app import Runtime, Signal
from bot.commands.context import Button, Buttons
from bot.delivery.fit import CAPTION_LIMIT, TEXT_LIMIT, plain_fallback, telegram_length
from bot.delivery.limits import RateLimiter, SendLimits
from bot.failures import failure, log_traceback
from bot.reconnect import UNREACHABLE
from storage import outbox
from storage.chats import mark_blocked

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_GONE = (errors.UserIsBlockedError, errors.InputUserDeactivatedError,
         errors.UserDeactivatedError, errors.ChatWriteForbiddenError,
         errors.PeerIdInvalidError, errors.ChannelPrivateError, errors.ChatAdminRequiredError)
_EDIT_GONE = (errors.MessageIdInvalidError, errors.MessageEditTimeExpiredError,
              errors.MessageAuthorRequiredError)
EDIT_RETRY = 2.0                 # seconds between looks at the message an edit waits for
NETWORK_PAUSE = timedelta(seconds=30)   # between tries while Telegram is unreachable
_TOO_LONG = (errors.MessageTooLongError, errors.MediaCaptionTooLongError,
             errors.EntityBoundsInvalidError)


def telethon_buttons(buttons: Buttons | None) -> list[list[TelethonButton]] | None:
    if not buttons:
        return None
    return [[TelethonButton.inline(b.label, b.data.encode()) for b in row] for row in buttons]


class Sender:
    name = "sender"

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limiter = RateLimiter(limits or SendLimits())
        self.wake = Signal()
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task, self.rt = None, None

    def messenger(self) -> OutboxMessenger:
        return OutboxMessenger(self)

    async def _run(self) -> None:
        while True:
            try:
                wait = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.error("sender round failed: %s; retrying in 5 s", failure(e))
                log_traceback(log, e)
                wait = 5.0
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), wait)

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
        try:
            sent = await self._deliver(item, msg.html)
        except errors.FloodWaitError as e:
            self.flood_waits += 1
            self.paused_until = now + timedelta(seconds=e.seconds)
            log.warning("flood wait %s s: sending paused", e.seconds)
            await outbox.retry_later(rt.db, item.id, f"FLOOD_WAIT_{e.seconds}",
                                     self.paused_until)
            return
        except _GONE as e:
            log.info("chat %s cannot be written to (%s): dropped", item.chat_id,
                     type(e).__name__)
            await mark_blocked(rt.db, item.chat_id, now)
            await outbox.drop_chat(rt.db, item.chat_id, type(e).__name__)
            return
        except _TOO_LONG as e:
            limit = CAPTION_LIMIT if msg.file_data is not None else TEXT_LIMIT
            log.error("outbox %s too long (%s, %s units): sent as plain text", item.id,
                      type(e).__name__, telegram_length(msg.html))
            try:
                sent = await self._deliver(item, plain_fallback(msg.html, limit))
            except errors.RPCError as e2:
                await outbox.give_up(rt.db, item.id, type(e2).__name__)
                return
        except errors.MessageNotModifiedError:
            sent = None                 # an edit to what the message already says
        except _EDIT_GONE as e:
            await outbox.give_up(rt.db, item.id, type(e).__name__)
            return
        except UNREACHABLE as e:
            # Telegram cannot be reached (the client is reconnecting, bot.reconnect): no
            # message's fault, and every send would fail alike. Sending pauses; the
            # message keeps its place and its attempts, however long it lasts.
            self.paused_until = now + NETWORK_PAUSE
            if not self.unreachable:
                log.info("cannot reach Telegram (%s): sending waits until it can",
                         type(e).__name__)
            self.unreachable = True
            return
        except (errors.RPCError, ValueError) as e:
            error = f"{type(e).__name__}: {e}"[:200]
            if item.attempts + 1 >= MAX_ATTEMPTS:
                log.error("outbox %s failed for good: %s", item.id, error)
                await outbox.give_up(rt.db, item.id, error)
            else:
                delay = timedelta(seconds=min(2 ** item.attempts * 5, 3600))
                await outbox.retry_later(rt.db, item.id, error, now + delay)
            return
        self.paused_until = None
        if self.unreachable:
            self.unreachable = False
            log.info("Telegram is reachable again: sending goes on")
        self.limiter.record(item.chat_id, item.chat_kind == "group", rt.now().timestamp())
        message_id = getattr(sent, "id", None) if sent is not None else item.target_message_id
        await outbox.mark_sent(rt.db, item.id, message_id, rt.now())

    async def _deliver(self, item: outbox.Pending, html_text: str) -> Any:
        bot = self.rt.bot if self.rt else None
        assert bot is not None
        msg, chat_id = item.message, item.chat_id
        buttons = telethon_buttons([[Button(lb, d) for lb, d in row] for row in msg.buttons])
        if msg.edit_of is not None:
            return await bot.edit_message(chat_id, item.target_message_id, html_text,
                                          parse_mode="html", link_preview=False,
                                          buttons=buttons)
        if msg.file_data is not None:
            f = io.BytesIO(msg.file_data)
            f.name = msg.file_name or "file"
            return await bot.send_file(chat_id, f, caption=html_text, parse_mode="html",
                                       force_document=not msg.as_photo, buttons=buttons)
        return await bot.send_message(chat_id, html_text, parse_mode="html",
                                      link_preview=False, buttons=buttons,
                                      reply_to=item.reply_to_message_id)


class OutboxMessenger:
    """Command replies, through the outbox like everything else (first in line)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def reply(self, chat_id: int, html: str, buttons: Buttons | None = None) -> None:
        rt = self.sender.rt
        assert rt is not None
        rows = tuple(tuple((b.label, b.data) for b in row) for row in buttons or ())
        await outbox.put(rt.db, outbox.OutMessage(chat_id, "reply", html, rows), rt.now())
        self.sender.wake.notify()
