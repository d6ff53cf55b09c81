"""``tgmon export``: the log as CSV or JSON Lines, to stdout or a file."""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from bot.progress import SILENT, ProgressBar, progress_bar
from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database
    from storage.export import ExportFilter

ORDER = 51
PART = ".part"                           # the suffix of an export being written


class ExportError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "export", parents=[common],
        help="export the captured posts as CSV or JSON Lines",
        description="Export the captured-post log, oldest post first. Columns and keys are "
                    "listed in docs/export.md (\"Export columns\"). Deleted posts are left out "
                    "unless --include-deleted or --only-deleted is given.")
    p.add_argument("--format", default="csv", metavar="FORMAT",
                   help="csv (default) or jsonl")
    p.add_argument("--output", "-o", type=Path, metavar="FILE",
                   help="write to FILE (replaced only once the export is complete); "
                        "default: standard output")
    p.add_argument("--channel", action="append", default=[], metavar="NAME_OR_ID",
                   help="only this channel (username or id); repeat for several")
    p.add_argument("--since", metavar="WHEN",
                   help="posts from this date (YYYY-MM-DD) or ISO timestamp (UTC if no offset)")
    p.add_argument("--until", metavar="WHEN",
                   help="posts up to and including this date or timestamp")
    p.add_argument("--search", metavar="TEXT",
                   help="posts whose latest text has every word (any case, ё = е; "
                        "word* matches the start of words)")
    deleted = p.add_mutually_exclusive_group()
    deleted.add_argument("--include-deleted", action="store_const", dest="deleted",
                         const="include", help="also deleted posts (deleted_at is set)")
    deleted.add_argument("--only-deleted", action="store_const", dest="deleted",
                         const="only", help="only deleted posts")
    table = p.add_mutually_exclusive_group()
    table.add_argument("--versions", action="store_true",
                       help="one row per version of each post (text as it was then)")
    table.add_argument("--metrics", action="store_const", dest="table", const="metrics",
                       help="the engagement samples of the posts (views, forwards, replies, "
                            "reactions as read over time) instead of the posts")
    table.add_argument("--comments", action="store_const", dest="table", const="comments",
                       help="the comments captured on the channels' posts instead of the "
                            "posts (deleted ones left out unless asked for)")
    table.add_argument("--service", action="store_const", dest="table", const="service",
                       help="the channels' service messages (title or photo changed, "
                            "a post pinned, ...) instead of the posts")
    p.add_argument("--no-bom", action="store_true",
                   help="CSV without the UTF-8 byte order mark Excel needs to see UTF-8")
    p.add_argument("--with-media", type=Path, metavar="DIR",
                   help="also copy the exported posts' media files into DIR, with a "
                        "SHA256SUMS manifest that `sha256sum -c SHA256SUMS` verifies there")
    p.set_defaults(func=run, deleted="exclude", table=None)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    return run_command(_run(args, settings))


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise ExportError(f"--output {path} is a directory: give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"--output {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"--output {path}: cannot write in {parent}")


def build_filter(args: argparse.Namespace, channel_ids: tuple[int, ...]) -> ExportFilter:
    from config.dates import parse_when
    from storage.export import ExportFilter, fts_query

    since = parse_when(args.since, "--since") if args.since else None
    before = parse_when(args.until, "--until", end=True) if args.until else None
    if since is not None and before is not None and since >= before:
        raise ExportError(f"--since {args.since} is after --until {args.until}")
    search = fts_query(args.search) if args.search is not None else None
    return ExportFilter(channel_ids=channel_ids, since=since, before=before, search=search,
                        deleted=args.deleted, versions=args.versions)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._channels import channel_ids
    from storage.db import open_database
    from storage.export import FORMATS, ExportOptionError

    fmt = args.format.strip().lower()
    if fmt not in FORMATS:
        raise ExportOptionError(
            f"unknown export format {args.format!r}: use {' or '.join(FORMATS)}")
    if args.output is not None:
        _check_output(args.output)
    if args.with_media is not None:
        from bot.cli._evidence import check_package_dir
        check_package_dir(args.with_media)
    build_filter(args, ())               # bad dates and searches fail before opening anything
    db = await open_database(settings.db_path, read_only=True)
    try:
        flt = build_filter(args, await channel_ids(db, args.channel))
        if args.output is None:
            sys.stdout.flush()
            await _export(db, flt, fmt, sys.stdout.buffer, args, SILENT)
            sys.stdout.buffer.flush()
        else:
            await _export_to_file(db, flt, fmt, args)
        if args.with_media is not None:
            from bot.cli._evidence import write_package
            await write_package(db, flt, settings.media_path, args.with_media)
    finally:
        await db.close()
    return 0


async def _export(db: Database, flt: ExportFilter, fmt: str, out: BinaryIO,
                  args: argparse.Namespace, bar: ProgressBar) -> int:
    from storage.export import RowWriter, export_rows, make_writer
    from storage.export_tables import TABLES, make_table_writer

    writer: RowWriter
    if args.table is not None:
        writer = make_table_writer(TABLES[args.table], fmt, out, bom=not args.no_bom)
    else:
        writer = make_writer(fmt, out, bom=not args.no_bom)
    return await export_rows(db, flt, writer,
                             progress=bar.update)


def _remove_stale_parts(target: Path) -> int:
    """Remove the partial files of earlier exports to ``target`` that were killed before
    they could (kill -9, a crash): those no running export holds locked."""
    import glob

    removed = 0
    for part in target.parent.glob(f".{glob.escape(target.name)}.*{PART}"):
        try:
            fd = os.open(part, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue                     # an export still writing it
        finally:
            os.close(fd)
        part.unlink(missing_ok=True)
        removed += 1
    return removed


async def _export_to_file(db: Database, flt: ExportFilter, fmt: str,
                          args: argparse.Namespace) -> None:
    """Write next to the target and rename at the end: a failed or interrupted export
    leaves no partial file and keeps any previous one."""
    import tempfile

    from storage.export import count_rows
    from storage.export_tables import TABLES, count_table_rows

    target: Path = args.output
    removed = _remove_stale_parts(target)
    if removed:
        print(f"tgmon: note: removed {removed} partial file{'s' if removed > 1 else ''} "
              f"of an earlier export to {target} that did not finish", file=sys.stderr)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART,
                                    dir=target.parent)
    tmp = Path(tmp_name)
    fcntl.flock(fd, fcntl.LOCK_EX)       # ours while we write: not stale to another export
    bar = SILENT
    try:
        if sys.stderr.isatty():          # counting the rows costs a scan: only for a bar
            total = await (count_rows(db, flt) if args.table is None else
                           count_table_rows(db, TABLES[args.table], flt))
            bar = progress_bar(total, "export", " rows", scale=True)
        with open(fd, "wb") as out:
            rows = await _export(db, flt, fmt, out, args, bar)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)        # mkstemp makes it owner-only; use the usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    print(f"tgmon: wrote {rows} rows to {target}", file=sys.stderr)
