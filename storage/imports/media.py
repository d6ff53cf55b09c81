"""A Telegram Desktop export's media files into the media archive (docs/media.md).

An export keeps each message's file next to ``result.json`` (``photos/``, ``files/``,
``video_files/``, …) when it was made with media. Each such file is copied into the
archive under its SHA-256 (stored once, whoever else has the same content) and recorded
as the post's media item, ``done``; a file the export names but does not hold, or left
out ("File not included"), is recorded as ``missed`` with the reason. Importing the same
export again changes nothing (items are keyed by the export's path).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import aiosqlite

from storage.imports.desktop import ExportedFile
from storage.media import StoredFile, store_file
from storage.mediastore import MediaStore, extension, photo_hash
from storage.models import Post
from storage.timefmt import to_db

_ITEM = (
    "INSERT INTO media_items (channel_id, message_id, version, file_key, kind, size, "
    "mime_type, file_name, status, last_error, sha256, queued_at, fetched_at, attempts) "
    "SELECT p.channel_id, p.message_id, p.version, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0 "
    "FROM posts p WHERE p.channel_id = ? AND p.message_id = ? "
    "ON CONFLICT (channel_id, message_id, file_key) DO UPDATE SET "
    "status = excluded.status, last_error = excluded.last_error, "
    "sha256 = coalesce(excluded.sha256, media_items.sha256), "
    "fetched_at = coalesce(media_items.fetched_at, excluded.fetched_at) "
    "WHERE media_items.status != 'done'"
)


class MediaImport:
    """Takes an export's files (relative to ``folder``) into the archive at ``root``."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.store = MediaStore(root)
        self.folder = folder.resolve()

    async def take(self, conn: aiosqlite.Connection,
                   files: Sequence[tuple[Post, ExportedFile]], now: datetime) -> int:
        """Record the files of stored posts (inside the import's transaction); returns
        how many were taken into the archive."""
        loop = asyncio.get_running_loop()
        taken = 0
        rows = []
        for post, exported in files:
            m = post.media
            assert m is not None
            key = f"import:{exported.path or exported.note}"
            status, error, sha, fetched = "missed", exported.note, None, None
            if exported.path is not None:
                source = (self.folder / exported.path).resolve()
                if source.is_relative_to(self.folder) and source.is_file():
                    ext = extension(m.kind, m.mime_type, m.file_name or source.name)
                    sha, size, rel = await loop.run_in_executor(
                        None, self.store.import_file, source, ext)
                    mime = m.mime_type or ("image/jpeg" if m.kind == "photo" else None)
                    await store_file(conn, StoredFile(sha, size, rel, mime,
                                                      await _phash(m.kind, self.store, rel)),
                                     now)
                    status, error, fetched = "done", None, to_db(now)
                    taken += 1
                else:
                    error = f"the export names {exported.path}, but it is not in {self.folder}"
            rows.append((key, m.kind, m.size, m.mime_type, m.file_name, status, error, sha,
                         to_db(now), fetched, post.channel_id, post.message_id))
        await conn.executemany(_ITEM, rows)
        return taken


async def _phash(kind: str, store: MediaStore, rel: str) -> str | None:
    if kind != "photo":
        return None
    return await asyncio.get_running_loop().run_in_executor(None, photo_hash, store.path(rel))
