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


def test_no_post_text_reaches_the_log_at_debug(tmp_path, capsys):
    """Everything tgmon's handler prints at DEBUG while posts are stored, read and
    exported: the database library's own DEBUG lines (SQL with its parameters) are not
    there, and neither is any post's text."""
    import asyncio
    import io
    from datetime import UTC, datetime

    from storekit import get_post

    from storage.db import open_database
    from storage.export import ExportFilter, export_rows, make_writer
    from storage.models import CapturePath, Channel, Post
    from storage.posts import save_posts

    secret = "ТАЙНЫЙТЕКСТПОСТА"
    setup_logging("DEBUG")
    try:
        async def body() -> None:
            logging.getLogger("bot.test").debug("debug lines are printed")
            db = await open_database(tmp_path / "tgmon.db")
            try:
                at = datetime(2024, 3, 12, 5, tzinfo=UTC)
                await save_posts(db, [Post(1001, 1, at, f"{secret} в посте")],
                                 CapturePath.LIVE, at, channel=Channel(1001, "rybar", "Рыбарь"))
                stored = await get_post(db, 1001, 1)
                assert stored and secret in stored.post.text
                out = io.BytesIO()
                await export_rows(db, ExportFilter(), make_writer("jsonl", out))
                assert secret.encode() in out.getvalue()
            finally:
                await db.close()

        asyncio.run(body())
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers
                                           if not getattr(h, "_tgmon", False)]
        logging.getLogger().setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "debug lines are printed" in err
    assert secret not in err
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.WARNING
