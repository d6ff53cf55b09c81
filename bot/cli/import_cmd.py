"""``tgmon import FILE... [--username NAME] [--export-tz ZONE]``: Telegram Desktop exports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.channels import USERNAME_RE
from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from datetime import tzinfo

    from storage.db import Database
    from storage.imports.store import FileImport

ORDER = 50


class ImportOptionError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "import", parents=[common],
        help="import Telegram Desktop JSON exports (result.json) into the log",
        description="Import channel posts from Telegram Desktop's \"Export chat history\" or "
                    "\"Export Telegram data\" JSON (result.json). Each file is imported in one "
                    "transaction; importing a file again adds nothing.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="result.json files")
    p.add_argument("--username", metavar="NAME",
                   help="the channel's public username (exports do not carry it); "
                        "default: the username tgmon already knows for the channel's id")
    p.add_argument("--export-tz", metavar="ZONE",
                   help="time zone of the computer that made an older export whose messages "
                        "have no date_unixtime (IANA name, e.g. Europe/Moscow, or UTC)")
    p.set_defaults(func=run)


def _username(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().removeprefix("https://").removeprefix("t.me/").lstrip("@")
    if not USERNAME_RE.match(name):
        raise ImportOptionError(
            f"--username {value!r} is not a Telegram username (5-32 letters, digits or _, "
            "starting with a letter)")
    return name


def _zone(value: str | None) -> tzinfo | None:
    if value is None:
        return None
    from config.zones import UnknownZoneError, parse_zone
    try:
        return parse_zone(value.strip())
    except UnknownZoneError:
        raise ImportOptionError(
            f"--export-tz {value!r} is not a known time zone (use an IANA name such as "
            "Europe/Moscow, or UTC)") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    return run_command(_run(args, settings))


def _summary(result: FileImport) -> list[str]:
    lines = []
    for c in result.channels:
        name = f"@{c.channel.username}" if c.channel.username else repr(c.channel.title)
        extra = f", {c.service} service messages" if c.service else ""
        if c.unsupported:
            extra += (f", {c.unsupported} messages Telegram Desktop could not export "
                      "(left as holes)")
        if c.media_files:
            extra += f", {c.media_files} media files taken into the archive"
        lines.append(f"{result.path}: {name} (id {c.channel.channel_id}): {c.posts} posts — "
                     f"{c.new} new, {c.edited} changed, {c.unchanged} already stored{extra}")
    return lines


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from storage.db import open_database
    from storage.imports.desktop import channel_of
    from storage.imports.reader import SINGLE_CHAT, chat_headers, probe
    from storage.imports.store import AmbiguousUsernameError, ImportOptions, import_file

    username = _username(args.username)
    export_tz = _zone(args.export_tz)
    # Refuse bad files (missing, not JSON, not an export, not a channel) before writing.
    sizes = {}
    channels: dict[int, tuple[str, Path]] = {}     # channel id -> (title, first file)
    for path in args.files:
        found = probe(path)
        headers = [found.header] if found.layout == SINGLE_CHAT and found.header else []
        if found.layout == SINGLE_CHAT and found.header is not None:
            try:
                channel_of(found.header)
            except TgmonError as e:
                raise TgmonError(f"{path}: {e}") from None
        elif username is not None:
            headers = chat_headers(path)        # --username: which channels it holds
        for header in headers:
            if header.is_channel and header.chat_id is not None:
                channels.setdefault(header.chat_id, (header.name or "?", path))
        sizes[path] = path.stat().st_size
    if username is not None and len(channels) > 1:
        held = ", ".join(f"{title!r} (id {cid}, {path})"
                         for cid, (title, path) in channels.items())
        raise AmbiguousUsernameError(
            f"--username {username} names one channel, but the files hold {len(channels)} "
            f"channels: {held}; import each channel's export on its own with its --username "
            "(nothing was imported)")

    from bot.progress import progress_bar
    bar = progress_bar(sum(sizes.values()), "import", "B", scale=True)

    def note(message: str) -> None:
        bar.write(f"tgmon: note: {message}")

    opts = ImportOptions(username=username, export_tz=export_tz,
                         progress=bar.update, media_dir=settings.media_path)
    db = await open_database(settings.db_path)
    done: list[Path] = []
    noted: set[str] = set()
    try:
        if username is not None and channels:
            await _check_username_owner(db, username, channels)
        for path in args.files:
            try:
                result = await import_file(db, path, opts, datetime.now(UTC))
            except TgmonError as e:
                if done:
                    before = ", ".join(map(str, done))
                    raise TgmonError(f"{e} (nothing of {path} was stored; imported before it: "
                                     f"{before})") from None
                raise
            for skipped in result.skipped_chats:
                note(f"{path}: skipped {skipped}: not a channel")
            for text in dict.fromkeys(result.notes):
                if text not in noted:
                    noted.add(text)
                    note(text)
            bar.clear()
            for line in _summary(result):
                print(line)
            done.append(path)
    finally:
        bar.close()
        await db.close()
    return 0


async def _check_username_owner(db: Database, username: str,
                                channels: dict[int, tuple[str, Path]]) -> None:
    """``--username`` must not take another channel's username in the log."""
    from storage.channels import find_channel

    owner = await find_channel(db, username)
    if owner is None or owner.username is None or owner.channel_id in channels:
        return
    [(cid, (title, path))] = channels.items()
    raise ImportOptionError(
        f"--username {username}: in the log @{owner.username} is the channel "
        f"{owner.title!r} (id {owner.channel_id}), but {path} is {title!r} (id {cid}); "
        "check the file and the name, or leave --username out (nothing was imported)")



