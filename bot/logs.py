"""Logging set-up. Secrets never reach a log line: every record is scrubbed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replaces any known secret that appears in a formatted record with ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = message
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tgmon", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler._tgmon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Telethon is chatty at INFO (connections, DC switches, differences); tgmon's clients
    # log under tgmon.telethon.<role> (their base_logger). aiosqlite logs every statement
    # with its parameters (post texts) at DEBUG: never below WARNING.
    for noisy in ("telethon", "tgmon.telethon", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
