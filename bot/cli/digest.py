"""``tgmon digest``: the digest of a period, in the terminal or as an HTML page."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli._signals import run_command
from config.errors import TgmonError
from config.settings import Settings

ORDER = 40


class DigestCommandError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "digest", parents=[common], help="show the digest of a period of the log",
        description="The digest of a period (at most 7 days, default the last 24 hours): "
                    "posts per channel with the top ones, edits, deletions and channels "
                    "that went silent, every line with its link.")
    p.add_argument("--since", metavar="WHEN",
                   help="start: YYYY-MM-DD (00:00 UTC) or an ISO timestamp (naive = UTC)")
    p.add_argument("--until", metavar="WHEN",
                   help="end (exclusive): an ISO timestamp, or YYYY-MM-DD for the whole "
                        "of that day; default: now")
    p.add_argument("--channel", action="append", metavar="CHANNEL", default=[],
                   help="only this channel (username or id); repeat for more; "
                        "default: every channel in the log")
    p.add_argument("--format", choices=("text", "html"), default="text",
                   help="text for the terminal, or an HTML page with the chart (default: text)")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write to FILE instead of standard output")
    p.add_argument("--tz", metavar="ZONE",
                   help="time zone of the times shown (IANA name; default: TGMON_TIMEZONE)")
    p.set_defaults(func=run)


def _zone(name: str) -> Any:
    from config.zones import UnknownZoneError, parse_zone

    try:
        return parse_zone(name)
    except UnknownZoneError:
        raise DigestCommandError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Moscow or UTC") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _render(args: argparse.Namespace, settings: Settings) -> str:
    from bot.cli._channels import channel_ids as chosen
    from bot.digest.build import build_digest
    from bot.digest.period import requested_period
    from storage.db import open_database
    from storage.digest_queries import gather_material

    tz = _zone(args.tz or settings.timezone)
    asked = requested_period(args.since, args.until, utcnow())
    if asked.capped_from is not None:
        print(f"tgmon: note: a digest covers at most 7 days; showing "
              f"{asked.period.start:%Y-%m-%d %H:%M} to {asked.period.end:%Y-%m-%d %H:%M} UTC "
              f"(asked from {asked.capped_from:%Y-%m-%d %H:%M})", file=sys.stderr)
    db = await open_database(settings.db_path, read_only=True)
    try:
        channel_ids = list(await chosen(db, args.channel)) if args.channel else None
        material = await gather_material(db, asked.period, channel_ids)
        if args.since is None and not any(a.posts for a in material.channels):
            await _note_older_posts(db, asked.period.start, channel_ids)
    finally:
        await db.close()
    digest = build_digest(material)
    year = utcnow().astimezone(tz).year       # dates of other years carry theirs
    if args.format == "text":
        from bot.digest.render_text import render_text
        return render_text(digest, tz, year)
    from bot.digest.chart import render_chart
    from bot.digest.render_page import render_html_page
    return render_html_page(digest, tz, render_chart(digest, tz), year)


async def _note_older_posts(db: Any, start: datetime, channel_ids: list[int] | None) -> None:
    """The default period held no post: say what the log holds before it, and the
    options that show its last week."""
    from datetime import timedelta

    from storage.search import posts_before

    older = await posts_before(db, start, channel_ids)
    if not (older.count and older.first and older.last):
        return
    last_day = older.last.date()
    first_day = max(older.first.date(), last_day - timedelta(days=6))
    print(f"tgmon: note: the period holds no posts; the log holds {older.count:,} older "
          f"posts ({older.first:%Y-%m-%d} to {older.last:%Y-%m-%d}): "
          f"--since {first_day:%Y-%m-%d} --until {last_day:%Y-%m-%d} shows the last week "
          "of them", file=sys.stderr)


def _folder(path: Path) -> Path:
    """The folder ``--output`` writes in; refused before any work if it does not exist."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DigestCommandError(f"cannot write {path}: the folder {folder} does not exist")
    return folder


def _write(path: Path, text: str) -> None:
    """Write through a temporary file: an existing file is replaced whole or not at all."""
    folder = _folder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise DigestCommandError(f"cannot write {path}: {e.strerror or e}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.output is not None:
        _folder(args.output)
    out = run_command(_render(args, settings))
    if args.output is None:
        sys.stdout.write(out)
    else:
        _write(args.output, out)
        print(f"tgmon: wrote the digest to {args.output}", file=sys.stderr)
    return 0
