"""The webhook sender: POSTs the outbox's webhook deliveries, apart from the Telegram
sender (its own task, its own rows), so a slow or failing webhook never delays a message
to Telegram.

Each delivery is signed (``X-Tgmon-Signature``) and sent with aiohttp, whose connector
asks :class:`CheckingResolver` where the host is: the addresses checked are the ones
connected to (a name that resolves to a private address is refused when the request is
made, whatever it resolved to when the webhook was set). Redirects are not followed.
What follows an answer is :func:`bot.delivery.retry.after_webhook`; a delivery given up
tells the chat (once a day at most).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from html import escape
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.delivery.retry import Step, after_webhook
from bot.delivery.webhooks import (
    SIGNATURE_HEADER,
    Outcome,
    address_allowed,
    host_of,
    sign,
    url_problem,
)
from bot.runtime import Runtime
from bot.tasks import run_rounds, stop_tasks
from storage import outbox, webhooks

log = logging.getLogger(__name__)

TIMEOUT = 10.0                  # seconds for one POST, connecting included
PARALLEL = 4                    # chats delivered to at once


class RefusedAddress(OSError):
    """The webhook's host resolves only to addresses webhooks may not use."""


class CheckingResolver(AbstractResolver):
    """DNS through aiohttp's threaded resolver, keeping only allowed addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if address_allowed(r["host"], self.allow_private)]
        if not allowed:
            shown = found[0]["host"] if found else "nothing"
            raise RefusedAddress(f"{host} resolves to {shown}, a private, loopback or "
                                 "link-local address (webhooks go to public addresses)")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class Poster:
    """POSTs signed bodies (one aiohttp session, its resolver checking addresses)."""

    def __init__(self, allow_private: bool, timeout: float = TIMEOUT) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.inflight = 0               # POSTs under way (the simulation's clock waits)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=CheckingResolver(allow_private),
                                           limit=PARALLEL * 2),
            timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        await self._session.close()

    async def post(self, url: str, secret: str, body: bytes, delivery: int) -> Outcome:
        """One POST of ``body``; what became of it."""
        problem = url_problem(url, self.allow_private)
        if problem is not None:
            return Outcome(error=problem, refused=True)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   SIGNATURE_HEADER: sign(secret, body), "X-Tgmon-Delivery": str(delivery),
                   "User-Agent": "tgmon-webhook"}
        self.inflight += 1
        try:
            async with self._session.post(url, data=body, headers=headers,
                                          allow_redirects=False) as answer:
                await answer.content.read(65536)      # a little of the answer, then close
                return Outcome(status=answer.status)
        except aiohttp.ClientConnectorError as e:
            if isinstance(e.os_error, RefusedAddress):
                return Outcome(error=str(e.os_error), refused=True)
            return Outcome(error=f"cannot connect: {e.os_error}")
        except TimeoutError:
            return Outcome(error=f"no answer within {self.timeout:g} s")
        except aiohttp.ClientError as e:
            return Outcome(error=f"{type(e).__name__}: {e}")
        finally:
            self.inflight -= 1


class WebhookSender:
    name = "webhooks"

    def __init__(self, *, timeout: float = TIMEOUT, parallel: int = PARALLEL) -> None:
        self.timeout = timeout
        self.parallel = parallel
        self.rt: Runtime | None = None
        self.delivered = 0
        self.given_up = 0
        self._poster: Poster | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._poster is not None and self._poster.inflight > 0

    async def start(self, rt: Runtime) -> None:
        self.rt = rt
        self._poster = Poster(rt.settings.webhook_private, self.timeout)
        self._task = asyncio.create_task(self._run(), name="webhook sender")

    async def stop(self) -> None:
        await stop_tasks([self._task])
        self._task = None
        if self._poster is not None:
            await self._poster.close()
            self._poster = None
        self.rt = None

    async def _run(self) -> None:
        assert self.rt is not None
        await run_rounds(self.round, self.rt.webhooks_changed.wait, what="webhook",
                         retry=5.0, log=log)

    async def round(self) -> float | None:
        """Deliver what is due. Returns how long to wait (None: until woken)."""
        rt = self.rt
        assert rt is not None
        batch = await webhooks.due(rt.db, rt.now())
        if not batch:
            nxt = await webhooks.next_due_time(rt.db)
            return None if nxt is None else max((nxt - rt.now()).total_seconds(), 0.0)
        gate = asyncio.Semaphore(self.parallel)

        async def one(d: webhooks.Delivery) -> None:
            async with gate:
                await self._deliver(d)

        await asyncio.gather(*(one(d) for d in batch))
        return 0.0

    async def _deliver(self, d: webhooks.Delivery) -> None:
        rt = self.rt
        assert rt is not None
        if d.url is None or d.secret is None:
            await outbox.give_up(rt.db, d.id, "the chat's webhook was removed")
            return
        assert self._poster is not None
        outcome = await self._poster.post(d.url, d.secret, d.body.encode(), d.id)
        then = after_webhook(outcome, d.attempts, d.created_at, rt.now())
        if then.step is Step.DONE:
            self.delivered += 1
            await outbox.mark_sent(rt.db, d.id, None, rt.now())
        elif then.step is Step.RETRY:
            assert then.until is not None
            log.info("webhook delivery %s of chat %s: %s; next try at %s", d.id, d.chat_id,
                     then.reason, then.until)
            await outbox.retry_later(rt.db, d.id, then.reason, then.until)
        else:
            self.given_up += 1
            log.warning("webhook delivery %s of chat %s given up: %s", d.id, d.chat_id,
                        then.reason)
            await outbox.give_up(rt.db, d.id, then.reason)
            await self._tell(d, then.reason)

    async def _tell(self, d: webhooks.Delivery, reason: str) -> None:
        """One notice a day to the chat whose webhook gave up."""
        rt = self.rt
        assert rt is not None
        link = _link(d.body)
        post = f' of <a href="{escape(link)}">{escape(link)}</a>' if link else ""
        html = (f"⚠️ Webhook {escape(host_of(d.url or ''))} failed: {escape(reason)}. The "
                f"alert{post} was not delivered to it, nor will others be while it fails "
                "(each is retried for a day). Fix the endpoint, or /webhook off.")
        now = rt.now()
        if await outbox.put(rt.db, outbox.OutMessage(
                d.chat_id, "notice", html,
                dedup_key=f"webhook-failed:{d.chat_id}:{now:%Y-%m-%d}"), now):
            rt.outbox_changed.notify()


def _link(body: str) -> str | None:
    try:
        found: Any = json.loads(body).get("link")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None
