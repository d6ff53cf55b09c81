"""Storing an export file: one file, one transaction.

Posts go through :func:`storage.posts.store_posts` (so versions, full-text index and
the change journal behave exactly as for live captures) with ``CapturePath.IMPORT``;
service message ids go to ``absent_messages``. Any error rolls the whole file back.
Re-importing a file adds nothing: the upsert finds every post unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import aiosqlite

from config.errors import TgmonError
from storage.channels import record_channel
from storage.db import Database
from storage.imports.desktop import (
    ExportedFile,
    ExportFormatError,
    MessageError,
    NeedsTimeZoneError,
    NotAChannelError,
    Skipped,
    channel_of,
    exported_file,
    parse_message,
)
from storage.imports.media import MediaImport
from storage.imports.reader import ChatReader, ExportFileError, ExportReader, open_stream
from storage.models import CapturePath, Channel, Post
from storage.posts import StoreResult, note_absent, store_posts

BATCH = 1000


class AmbiguousUsernameError(TgmonError):
    """``--username`` was given for an import that holds more than one channel."""


@dataclass(frozen=True)
class ChannelImport:
    """What one channel of a file brought."""

    channel: Channel              # as recorded (username from --username or the log)
    posts: int = 0                # posts in the export
    new: int = 0                  # posts the log did not have
    edited: int = 0               # posts whose text or media differed: a new version
    service: int = 0              # service messages (noted as absent ids)
    unsupported: int = 0          # messages Telegram Desktop could not export
    media_files: int = 0          # media files taken into the archive

    @property
    def unchanged(self) -> int:
        return self.posts - self.new - self.edited


@dataclass(frozen=True)
class FileImport:
    path: Path
    channels: tuple[ChannelImport, ...]
    skipped_chats: tuple[str, ...] = ()     # descriptions of chats that are not channels
    notes: tuple[str, ...] = ()             # things the user may want to fix (no username)


@dataclass
class ImportOptions:
    username: str | None = None               # --username: for the one channel imported
    export_tz: tzinfo | None = None           # --export-tz: for exports without *_unixtime
    username_channel: int | None = None       # the channel that already took --username
    progress: Callable[[int], None] = lambda _bytes: None
    # The media archive to take the export's media files into (None: leave them).
    media_dir: Path | None = None


async def import_file(db: Database, path: Path, opts: ImportOptions,
                      now: datetime) -> FileImport:
    """Import every channel of one export file in a single transaction."""
    channels: list[ChannelImport] = []
    skipped: list[str] = []
    notes: list[str] = []
    with open_stream(path) as js:
        reader = ExportReader(path, js)
        async with db.transaction() as conn:
            for chat in reader.chats():
                if not chat.header.is_channel:
                    skipped.append(chat.header.describe())
                    continue
                channels.append(await _import_chat(conn, reader, chat, opts, now, notes))
    if not channels:
        if skipped:
            raise NotAChannelError(
                f"{path} holds no channel, only {_list(skipped)}: tgmon imports channels")
        raise ExportFormatError(f"{path} holds no chat at all")
    return FileImport(path, tuple(channels), tuple(skipped), tuple(notes))


def _list(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


async def _channel_record(conn: aiosqlite.Connection, found: Channel,
                          opts: ImportOptions, path: Path, notes: list[str]) -> Channel:
    """The channel as it will be recorded: an export knows no username, so it comes from
    ``--username`` or from the log; a title already known is not overwritten by the
    (possibly older) export's."""
    async with conn.execute("SELECT username, title FROM channels WHERE channel_id = ?",
                            (found.channel_id,)) as cur:
        known = await cur.fetchone()
    username = known[0] if known else None
    if opts.username:
        if opts.username_channel not in (None, found.channel_id):
            raise AmbiguousUsernameError(
                f"--username {opts.username} was given, but {path} holds another channel "
                f"({found.title!r}, id {found.channel_id}) too: import each channel's export "
                "on its own with its --username")
        opts.username_channel = found.channel_id
        if username and username.lower() != opts.username.lower():
            notes.append(f"channel {found.channel_id} was known as @{username}; "
                      f"recorded as @{opts.username} from --username")
        username = opts.username
    title = known[1] if known and known[1] else found.title
    return Channel(found.channel_id, username, title)


async def _import_chat(conn: aiosqlite.Connection, reader: ExportReader, chat: ChatReader,
                       opts: ImportOptions, now: datetime, notes: list[str]) -> ChannelImport:
    path = reader.path
    try:
        found = channel_of(chat.header)
    except TgmonError as e:
        raise ExportFileError(f"{path}: {e}") from None
    channel = await _channel_record(conn, found, opts, path, notes)
    await record_channel(conn, channel, now)
    if not channel.username and chat.header.kind == "public_channel":
        notes.append(f"no username known for channel {channel.title!r} (id {channel.channel_id}): "
                  f"its links will be t.me/c/{channel.channel_id}/...; "
                  "pass --username NAME to record it")
    posts: list[Post] = []
    files: list[tuple[Post, ExportedFile]] = []
    service: list[int] = []
    total = StoreResult()
    counts = {"posts": 0, "service": 0, "unsupported": 0, "media": 0}
    last_bytes = reader.bytes_read
    archive = MediaImport(opts.media_dir, path.parent) if opts.media_dir else None

    async def flush() -> None:
        nonlocal total, last_bytes
        total = total + await store_posts(conn, posts, CapturePath.IMPORT, now)
        await note_absent(conn, channel.channel_id, service, "service", now)
        if archive is not None and files:
            counts["media"] += await archive.take(conn, files, now)
        posts.clear()
        files.clear()
        service.clear()
        opts.progress(reader.bytes_read - last_bytes)
        last_bytes = reader.bytes_read

    try:
        for raw in chat.messages:
            item = parse_message(channel.channel_id, raw, opts.export_tz)
            if isinstance(item, Skipped):
                counts[item.reason] += 1
                if item.reason == "service":
                    service.append(item.message_id)
                continue
            counts["posts"] += 1
            posts.append(item)
            exported = exported_file(raw) if item.media is not None else None
            if exported is not None:
                files.append((item, exported))
            if len(posts) >= BATCH:
                await flush()
    except NeedsTimeZoneError as e:
        raise ExportFileError(
            f"{path}: {e}: older Telegram Desktop exports give only the exporting computer's "
            "local time; pass --export-tz ZONE with its time zone (for example "
            "--export-tz Europe/Moscow, or --export-tz UTC)") from None
    except MessageError as e:
        raise ExportFileError(f"{path}: {e}; the file is not a Telegram Desktop export "
                              "tgmon can read") from None
    await flush()
    return ChannelImport(channel, counts["posts"], total.new, total.edited, counts["service"],
                         counts["unsupported"], counts["media"])
