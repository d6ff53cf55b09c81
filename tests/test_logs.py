"""Secrets never reach a log line, and Telethon's chatter stays below INFO."""

from __future__ import annotations

import logging

from bot.logs import RedactSecrets, setup_logging


def test_secrets_are_scrubbed_from_messages_and_arguments():
    f = RedactSecrets(["0123456789abcdef", "123:BOT-TOKEN", None, "abc"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hash %s token %s",
                               ("0123456789abcdef", "123:BOT-TOKEN"), None)
    assert f.filter(record)
    assert record.getMessage() == "hash *** token ***"
    short = logging.LogRecord("x", logging.INFO, __file__, 1, "abc stays", None, None)
    f.filter(short)                       # too short to be a secret: not a needle
    assert short.getMessage() == "abc stays"


def test_client_loggers_are_quiet_at_info():
    setup_logging("INFO")
    assert logging.getLogger("tgmon.telethon.user.client.updates").getEffectiveLevel() \
        == logging.WARNING
    assert logging.getLogger("telethon.network").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("bot.watcher").getEffectiveLevel() == logging.INFO
