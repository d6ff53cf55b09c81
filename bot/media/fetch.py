"""One file, part by part, into a partial file that a flood wait, a lost connection or a
restart resumes from its last whole part, never from zero.

The file is hashed as its parts arrive (what is already on disk is hashed first when a
download resumes), written on a thread while the next part is asked for, and renamed
into the store under its SHA-256 when complete (:class:`storage.mediastore.MediaStore`).
Memory holds two parts at most, whatever the file's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.mediastore import MediaStore, hash_prefix

SYNC_EVERY = 8 << 20            # bytes written between syncs of a partial file to disk

# offset, limit -> the part's bytes (fewer than limit: the file ends there)
FetchPart = Callable[[int, int], Awaitable[bytes]]


@dataclass(frozen=True)
class Fetched:
    sha256: str
    size: int
    path: str                   # relative to the media directory
    resumed_at: int             # bytes that were on disk already when this try started


def resume_offset(partial: Path, part: int) -> int:
    """Where a download resumes: the whole parts on disk (a part cut short by a crash
    is fetched again)."""
    try:
        size = partial.stat().st_size
    except FileNotFoundError:
        return 0
    return size - size % part


def _prepare(partial: Path, offset: int) -> Any:
    """The partial file cut to ``offset`` and the hash of what it holds."""
    partial.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if offset == 0:
        partial.write_bytes(b"")
        partial.chmod(0o600)
        return hashlib.sha256()
    with open(partial, "rb+") as f:
        f.truncate(offset)
    return hash_prefix(partial, offset)


async def fetch_file(store: MediaStore, item_id: int, ext: str, fetch: FetchPart, *,
                     part: int, progress: Callable[[int], None] = lambda _n: None
                     ) -> Fetched:
    """Download item ``item_id``'s file with ``fetch`` and store it. Raises what
    ``fetch`` raises (the partial file keeps every whole part written so far) and
    ``OSError`` from the disk."""
    loop = asyncio.get_running_loop()
    partial = store.partial(item_id)
    start = offset = resume_offset(partial, part)
    hasher = await loop.run_in_executor(None, _prepare, partial, offset)
    out = await loop.run_in_executor(None, open, partial, "ab")
    writing: asyncio.Future[None] | None = None
    unsynced = 0

    def write(data: bytes) -> None:
        nonlocal unsynced
        out.write(data)
        hasher.update(data)
        unsynced += len(data)
        if unsynced >= SYNC_EVERY:
            # Flushed as it goes, so gigabytes of dirty pages never pile up for the
            # database's next fsync to wait behind (capture's commits stay quick).
            out.flush()
            os.fdatasync(out.fileno())
            unsynced = 0

    try:
        while True:
            data = await fetch(offset, part)
            if writing is not None:
                await writing           # the previous part is on disk before the next
            writing = loop.run_in_executor(None, write, data)
            offset += len(data)
            progress(len(data))
            if len(data) < part:
                break
        await writing
        writing = None
    finally:
        if writing is not None:
            # A failed fetch: let the part being written finish, so the file on disk
            # ends at a whole part (a write error itself is raised above).
            await asyncio.gather(writing, return_exceptions=True)
        await loop.run_in_executor(None, out.close)
    sha256 = hasher.hexdigest()
    rel = await loop.run_in_executor(None, store.commit, partial, sha256, ext)
    return Fetched(sha256, offset, rel, start)


def discard_partial(store: MediaStore, item_id: int) -> None:
    """Drop a partial file that will never be resumed (the item was given up)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(store.partial(item_id))
