"""Logging set-up. Secrets never reach a log line: every record is scrubbed."""

from __future__ import annotations

import logging
import re
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


TRACE = 5      # Telethon's MessageBox logs gaps and differences at this level


class HideMessageText(logging.Filter):
    """Telethon's debug records print whole TL objects: the ``message='…'`` of a post
    or of what a person wrote to the bot becomes its length."""

    _TEXT = re.compile(r"""\bmessage=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("telethon", "tgmon.telethon")):
            message = record.getMessage()
            clean = self._TEXT.sub(lambda m: f"message=<{len(m.group(1)) - 2} chars>",
                                   message)
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
    handler.addFilter(HideMessageText())
    handler.addFilter(RedactSecrets(secrets))
    handler._tgmon = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Telethon is chatty at INFO (connections, DC switches, differences); tgmon's clients
    # log under tgmon.telethon.<role> (their base_logger). aiosqlite logs every statement
    # with its parameters (post texts) at DEBUG: never below WARNING.
    for noisy in ("telethon", "tgmon.telethon", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    if root.level <= logging.DEBUG:
        # DEBUG: Telethon's own update handling too, gaps and differences included.
        logging.addLevelName(TRACE, "TRACE")
        for name in ("telethon", "tgmon.telethon"):
            logging.getLogger(name).setLevel(TRACE)
