"""``tgmon serve``: the log in a browser, read-only, through Datasette (docs/web.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from config.errors import TgmonError
from config.settings import Settings

ORDER = 56
INSTALL = "pip install 'tgmon[web]'"


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "serve", parents=[common], help="browse and search the log in a web browser",
        description="Serves the log read-only in Datasette (install it with "
                    f"{INSTALL}): posts with full-text search and facets, every version "
                    "and tombstone, canned queries (recent deletions, edits, what a rule "
                    "matches, coverage), a page per post. New posts appear on reload while "
                    "tgmon run writes the log. Only this machine may connect unless "
                    "TGMON_WEB_PASSWORD is set.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs "
                        "TGMON_WEB_PASSWORD)")
    p.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from bot.web import server
    except ModuleNotFoundError as e:
        raise TgmonError(f"tgmon serve needs Datasette ({e.name} is not installed): "
                         f"{INSTALL}") from None
    if not 0 < args.port < 65536:
        raise TgmonError(f"--port {args.port}: give a port from 1 to 65535")
    server.check_bind(args.host, settings.web_password)
    asyncio.run(_check_database(settings))
    ds = server.build(settings.db_path, password=settings.web_password,
                      media_dir=_media_dir(settings))
    sock = server.listen(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    login = f" (user {server.USER} and TGMON_WEB_PASSWORD)" if settings.web_password else ""
    print(f"tgmon: serving {settings.db_path} read-only at http://{host}:{args.port}/"
          f"{login}; Ctrl-C stops", file=sys.stderr, flush=True)
    asyncio.run(server.serve(ds, sock))
    return 0


async def _check_database(settings: Settings) -> None:
    """Refuse what is not an up-to-date tgmon log, in one line (an older one that may be
    written is upgraded, as the other reading commands do)."""
    from storage.db import open_database

    db = await open_database(settings.db_path, read_only=True)
    await db.close()


def _media_dir(settings: Settings) -> Any:
    """The media archive: its setting once tgmon downloads media, else beside the log."""
    configured = getattr(settings, "media_dir", None)
    if configured is not None:
        return configured
    path = settings.db_path
    return path.with_name(path.stem + "-media")
