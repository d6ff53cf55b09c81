"""A built digest into the outbox: its messages in order, each with a key made of the
chat and the digest's identity, and the chat's new mark, in one transaction."""

from __future__ import annotations

from datetime import datetime

from bot.digest.scheduling.compose import Composed
from storage import outbox
from storage.db import Database
from storage.digest_queries import Period
from storage.digest_schedules import record_sent
from storage.timefmt import to_db

CHART_NAME = "digest.png"


def digest_messages(chat_id: int, identity: str, composed: Composed) -> list[outbox.OutMessage]:
    """The outbox messages of one digest, in sending order: the texts, then the chart.
    Their dedup keys derive from the digest's identity, so it is never enqueued twice."""
    key = f"digest:{chat_id}:{identity}"
    out = [outbox.OutMessage(chat_id, "digest", html, dedup_key=f"{key}:{i}")
           for i, html in enumerate(composed.prepared.messages, start=1)]
    if composed.chart_png is not None:
        out.append(outbox.OutMessage(
            chat_id, "digest", composed.prepared.chart_caption, dedup_key=f"{key}:chart",
            file_name=CHART_NAME, file_data=composed.chart_png, as_photo=True))
    return out


def identity_of(due: datetime | None, period: Period) -> str:
    """A scheduled digest is its due time; one on request is the moment it was asked."""
    return to_db(due) if due is not None else f"now:{to_db(period.end)}"


async def enqueue_digest(db: Database, chat_id: int, *, due: datetime | None, period: Period,
                         expected_end: datetime | None, composed: Composed,
                         now: datetime) -> bool:
    """Put the digest in the outbox and move the chat's mark, in one transaction.
    False (nothing written) if another digest moved the mark since ``expected_end``."""
    messages = digest_messages(chat_id, identity_of(due, period), composed)
    async with db.transaction() as conn:
        if not await record_sent(conn, chat_id, due=due, period_end=period.end,
                                 expected_end=expected_end, now=now):
            return False
        for message in messages:
            await outbox.enqueue(conn, message, now)
    return True
