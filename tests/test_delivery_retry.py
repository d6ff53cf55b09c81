"""What the sender does after a failed send (bot.delivery.retry), from Telegram's errors
as bot.telegram.errors classifies them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telethon import errors

from bot.delivery.retry import MAX_ATTEMPTS, NETWORK_PAUSE, Step, after_failure
from bot.telegram.errors import Action, classify

NOW = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("error", [ConnectionError("Telegram is unreachable"),
                                   OSError("Network is unreachable"), TimeoutError()])
def test_an_unreachable_telegram_spends_no_attempt(error):
    """Found by the soak (seeds 7, 59): the network is no message's fault. However many
    attempts the message has had, sending waits and the message is kept."""
    failed = classify(error, "bot")
    assert failed.action is Action.OFFLINE and not failed.telegram
    for attempts in (0, MAX_ATTEMPTS - 1, MAX_ATTEMPTS + 5):
        then = after_failure(failed, attempts, NOW)
        assert then.step is Step.WAIT and then.until == NOW + NETWORK_PAUSE


def test_telegram_answering_an_error_still_spends_attempts_until_it_gives_up():
    failed = classify(errors.RPCError(None, "INTERNAL"), "bot")
    assert failed.action is Action.RETRY
    first = after_failure(failed, 0, NOW)
    assert first.step is Step.RETRY and first.until == NOW + timedelta(seconds=5)
    assert after_failure(failed, MAX_ATTEMPTS - 1, NOW).step is Step.FAILED
