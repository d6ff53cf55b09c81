"""``tgmon media``: what the media archive holds (counts, bytes, failures), and
``tgmon media verify``: every stored file hashed again against its recorded SHA-256."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from config.sizes import human_size

if TYPE_CHECKING:
    from storage.media import MediaCounts

ORDER = 53


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "media", parents=[common], help="the media archive: counts, or verify every file",
        description="Without an action: media items by status and kind, files and bytes "
                    "stored, what waits, and the latest failures. `verify`: hash every "
                    "stored file again and report any that changed or went missing (exit "
                    "status 1 if one did). The archive is TGMON_MEDIA_DIR (default: the "
                    "database path with .db replaced by -media); see docs/media.md.")
    p.add_argument("action", nargs="?", choices=["verify"], metavar="verify",
                   help="hash every stored file again")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    if args.action == "verify":
        return run_command(_verify(args, settings))
    return run_command(_counts(args, settings))


async def _counts(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import open_database
    from storage.media import counts

    db = await open_database(settings.db_path, read_only=True)
    try:
        found = await counts(db)
    finally:
        await db.close()
    if args.json:
        print(json.dumps(counts_json(found, settings.media_path), ensure_ascii=False,
                         indent=2))
    else:
        print(format_counts(found, settings.media_path, settings.media))
    return 0


def counts_json(c: MediaCounts, root: Path) -> dict[str, Any]:
    return {"directory": str(root), "items": c.by_status, "by_kind": c.by_kind,
            "files": c.files, "bytes": c.bytes, "pending_bytes": c.pending_bytes,
            "paused": None if c.pause is None else
            {"reason": c.pause.reason, "detail": c.pause.detail,
             "since": c.pause.since.isoformat()},
            "latest_failures": [{"channel": ch, "message_id": mid, "kind": kind,
                                 "error": error} for ch, mid, kind, error in c.failures]}


def format_counts(c: MediaCounts, root: Path, kinds: tuple[str, ...]) -> str:
    total = sum(c.by_status.values())
    lines = [f"Media archive {root} (downloads: {','.join(kinds) or 'off'})",
             f"  {c.files} files stored, {human_size(c.bytes)}; {total} media items"]
    shown = [f"{n} {status}" for status, n in c.by_status.items() if n]
    if shown:
        lines.append("  " + ", ".join(shown))
    if c.by_status.get("pending"):
        lines.append(f"  waiting: {human_size(c.pending_bytes)} announced")
    for kind in sorted(c.by_kind):
        per = c.by_kind[kind]
        lines.append(f"    {kind}: " + ", ".join(f"{n} {s}" for s, n in sorted(per.items())))
    if c.pause is not None:
        lines.append(f"  PAUSED since {c.pause.since.isoformat()}: {c.pause.detail}")
    if c.failures:
        lines.append("  latest failed and missed:")
        lines += [f"    {ch}/{mid} {kind}: {error}" for ch, mid, kind, error in c.failures]
    return "\n".join(lines)


async def _verify(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.progress import SILENT, progress_bar
    from storage.db import open_database
    from storage.media import all_files, counts
    from storage.mediastore import INCOMING, PARTIAL, hash_file

    root = settings.media_path
    db = await open_database(settings.db_path, read_only=True)
    checked = changed = missing = 0
    problems: list[dict[str, Any]] = []
    known: set[str] = set()
    try:
        total = (await counts(db)).files
        import sys
        bar = progress_bar(total, "verify", " files") if sys.stderr.isatty() else SILENT
        loop = asyncio.get_running_loop()
        try:
            async for f in all_files(db):
                known.add(f.path)
                path = root / f.path
                checked += 1
                bar.update(1)
                if not path.is_file():
                    missing += 1
                    problems.append({"path": f.path, "problem": "missing",
                                     "sha256": f.sha256})
                    continue
                sha, size = await loop.run_in_executor(None, hash_file, path)
                if sha != f.sha256 or size != f.size:
                    changed += 1
                    problems.append({"path": f.path, "problem": "changed",
                                     "sha256": f.sha256, "found": sha, "size": size})
        finally:
            bar.close()
    finally:
        await db.close()
    unknown = sorted(
        p.relative_to(root).as_posix() for p in (root.rglob("*") if root.is_dir() else ())
        if p.is_file() and p.relative_to(root).parts[0] not in (PARTIAL, INCOMING)
        and p.relative_to(root).as_posix() not in known)
    if args.json:
        print(json.dumps({"directory": str(root), "checked": checked, "changed": changed,
                          "missing": missing, "problems": problems,
                          "not_in_database": unknown}, ensure_ascii=False, indent=2))
    else:
        for p in problems:
            if p["problem"] == "missing":
                print(f"MISSING {p['path']}")
            else:
                print(f"CHANGED {p['path']}: now {p['found']} ({p['size']} bytes)")
        for name in unknown:
            print(f"note: {name} is not in the database")
        verdict = "all match their SHA-256" if not problems else \
            f"{changed} changed, {missing} missing"
        print(f"{checked} files checked in {root}: {verdict}")
    return 1 if problems else 0
