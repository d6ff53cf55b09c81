"""What the sender does after a send failed: a pure function of the classified error
(:func:`bot.telegram.errors.classify`), the message's attempts so far and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.delivery.webhooks import Outcome
from bot.telegram.errors import Action, Failure

MAX_ATTEMPTS = 8
# Webhooks: retried with backoff on 5xx and timeouts for a day, then given up.
WEBHOOK_PATIENCE = timedelta(days=1)
WEBHOOK_FIRST_RETRY = timedelta(seconds=30)
WEBHOOK_LONGEST_WAIT = timedelta(hours=1)
NETWORK_PAUSE = timedelta(seconds=30)   # between tries while Telegram is unreachable


class Step(StrEnum):
    PAUSE = "pause"             # pause all sending until ``until``; this message then
    WAIT = "wait"               # Telegram cannot be reached: pause all sending until
                                # ``until``; the message keeps its place and attempts
    DROP_CHAT = "drop chat"     # the chat cannot be written to: drop what waits for it
    PLAIN = "plain"             # too long: send it again as plain text, cut to fit
    DONE = "done"               # an edit to what the message already says
    GIVE_UP = "give up"         # this message cannot be sent: give it up quietly
    FAILED = "failed"           # it failed MAX_ATTEMPTS times: give it up, and say so
    RETRY = "retry"             # try this message again at ``until``
    RAISE = "raise"             # not Telegram's answer: the round fails (logged, retried)


@dataclass(frozen=True)
class Next:
    step: Step
    reason: str = ""                    # what the outbox records
    until: datetime | None = None


def after_failure(failed: Failure, attempts: int, now: datetime) -> Next:
    """The next step for a message whose send failed with ``failed`` after
    ``attempts`` earlier attempts."""
    match failed.action:
        case Action.PAUSE:
            return Next(Step.PAUSE, f"FLOOD_WAIT_{failed.seconds}",
                        now + timedelta(seconds=failed.seconds))
        case Action.DROP_CHAT:
            return Next(Step.DROP_CHAT, failed.error)
        case Action.TOO_LONG:
            return Next(Step.PLAIN)
        case Action.UNCHANGED:
            return Next(Step.DONE)
        case Action.MOOT:
            return Next(Step.GIVE_UP, failed.error)
        case Action.FAIL:
            return Next(Step.RAISE)
        case Action.OFFLINE:
            # No message's fault, and every send would fail alike, however long it
            # lasts (the client is reconnecting, bot.reconnect): spend no attempt.
            return Next(Step.WAIT, failed.detail, now + NETWORK_PAUSE)
    # RETRY, and STOP_ACCOUNT: the app is stopping; the message waits for the next run
    if attempts + 1 >= MAX_ATTEMPTS:
        return Next(Step.FAILED, failed.detail)
    delay = timedelta(seconds=min(2 ** attempts * 5, 3600))
    return Next(Step.RETRY, failed.detail, now + delay)


def after_webhook(outcome: Outcome, attempts: int, created_at: datetime,
                  now: datetime) -> Next:
    """The next step for a webhook delivery after one POST (``attempts`` earlier ones):
    done when delivered; retried with a doubling wait (30 s, 1 min, … up to an hour) on a
    5xx, 408, 425, 429, a timeout or a connection error, until it has been tried for a
    day; given up at once on any other answer (a redirect is not followed) or a refused
    address."""
    if outcome.delivered:
        return Next(Step.DONE)
    reason = outcome.describe()
    if not outcome.retryable:
        return Next(Step.FAILED, reason)
    deadline = created_at + WEBHOOK_PATIENCE
    if now >= deadline:
        return Next(Step.FAILED, f"{reason}, still after a day of retries")
    wait = min(WEBHOOK_FIRST_RETRY * 2 ** min(attempts, 20), WEBHOOK_LONGEST_WAIT)
    return Next(Step.RETRY, reason, min(now + wait, deadline))
