"""The media archive on disk: files stored once under their SHA-256.

A file lives at ``ab/cd/abcd….ext`` under the media directory (the first two pairs of
hex digits make two levels of folders, so no folder holds more than a few thousand
files). It is written under a temporary name and renamed into place only once it is
complete and hashed, so a path in the store always holds a whole file; a download in
progress is a partial file under ``.partial/`` that a restart resumes.

Blocking file work; callers run it on a thread when the event loop must stay free.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
PARTIAL = ".partial"            # downloads in progress, by media item id
INCOMING = ".incoming"          # whole files being hashed and renamed into place

# Extensions by MIME type where Python's table guesses oddly or not at all.
_EXT = {"image/jpeg": ".jpg", "video/mp4": ".mp4", "audio/ogg": ".ogg", "audio/mpeg": ".mp3",
        "video/quicktime": ".mov", "image/webp": ".webp", "application/x-tgsticker": ".tgs",
        "video/webm": ".webm", "application/pdf": ".pdf", "text/plain": ".txt"}
_KIND_EXT = {"photo": ".jpg", "video": ".mp4", "animation": ".mp4", "voice": ".ogg",
             "audio": ".mp3", "video_message": ".mp4", "sticker": ".webp"}
_SAFE_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def extension(kind: str, mime_type: str | None, file_name: str | None) -> str:
    """The stored file's extension: the original name's, else the MIME type's, else the
    kind's, else none. Only short alphanumeric extensions (never a path)."""
    if file_name:
        ext = os.path.splitext(file_name)[1]
        if _SAFE_EXT.fullmatch(ext):
            return ext.lower()
    if mime_type:
        ext = _EXT.get(mime_type.lower()) or mimetypes.guess_extension(mime_type) or ""
        if _SAFE_EXT.fullmatch(ext):
            return ext
    return _KIND_EXT.get(kind, "")


def relative_path(sha256: str, ext: str) -> str:
    """``ab/cd/abcd….ext``: where a file with this hash is stored."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 in hex: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}{ext}"


def hash_file(path: Path, *, chunk: int = CHUNK) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks (memory stays flat)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def copy_hashed(source: Path, target: Path, *, chunk: int = CHUNK) -> tuple[str, int]:
    """Copy ``source`` to ``target`` hashing it as it is written: its SHA-256 (hex) and
    size (one read of the source, memory flat)."""
    h = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while block := src.read(chunk):
            h.update(block)
            dst.write(block)
            size += len(block)
    return h.hexdigest(), size


def hash_prefix(path: Path, length: int, *, chunk: int = CHUNK) -> hashlib._Hash:
    """A SHA-256 object fed with the first ``length`` bytes of ``path`` (resuming a
    download: the hash of what is already on disk)."""
    h = hashlib.sha256()
    left = length
    with open(path, "rb") as f:
        while left > 0:
            block = f.read(min(chunk, left))
            if not block:
                raise ValueError(f"{path} is shorter than {length} bytes")
            h.update(block)
            left -= len(block)
    return h


def photo_hash(path: Path) -> str | None:
    """A photo's perceptual hash (ImageHash's pHash) as 16 hex digits; None if it is not
    a picture Pillow can read. Matching them is :mod:`bot.media.phash`'s."""
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return str(imagehash.phash(image))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


class MediaStore:
    """The media directory: finished files by hash, partial downloads by item id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ensure(self) -> None:
        """Create the directory (owner-only, like the database)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in (PARTIAL, INCOMING):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def partial(self, item_id: int) -> Path:
        """Where item ``item_id``'s download in progress lives."""
        return self.root / PARTIAL / f"{item_id}.part"

    def incoming(self, name: str) -> Path:
        return self.root / INCOMING / name

    def commit(self, temp: Path, sha256: str, ext: str) -> str:
        """Move a complete, hashed file into place under its hash and return its path
        relative to the directory. A file already stored with this hash is kept and
        ``temp`` dropped: each content is stored once."""
        rel = relative_path(sha256, ext)
        target = self.root / rel
        if target.exists():
            temp.unlink(missing_ok=True)
            return rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(temp, "rb+") as f:        # on disk before the rename makes it visible
            os.fsync(f.fileno())
        os.replace(temp, target)
        target.chmod(0o600)
        return rel

    def existing(self, sha256: str) -> str | None:
        """The stored path of content with this hash, whatever its extension."""
        folder = self.root / sha256[:2] / sha256[2:4]
        if not folder.is_dir():
            return None
        for entry in folder.iterdir():
            if entry.name.startswith(sha256):
                return entry.relative_to(self.root).as_posix()
        return None

    def import_file(self, source: Path, ext: str) -> tuple[str, int, str]:
        """Copy a file from outside (an export's media) into the store: ``(sha256,
        size, relative path)``. The copy is hashed as it is written."""
        self.ensure()
        temp = self.incoming(f"import-{os.getpid()}-{id(source)}")
        try:
            digest, size = copy_hashed(source, temp)
            return digest, size, self.commit(temp, digest, ext)
        finally:
            temp.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        """Space left on the disk of the media directory."""
        st = os.statvfs(self.root if self.root.exists() else self.root.parent)
        return st.f_bavail * st.f_frsize

    def clear_incoming(self) -> None:
        """Remove what an interrupted rename left (partial downloads are kept)."""
        folder = self.root / INCOMING
        if folder.is_dir():
            for entry in folder.iterdir():
                with contextlib.suppress(OSError):
                    entry.unlink()

    def partials(self) -> Iterator[tuple[int, Path]]:
        folder = self.root / PARTIAL
        if not folder.is_dir():
            return
        for entry in folder.iterdir():
            stem = entry.name.removesuffix(".part")
            if stem.isdigit():
                yield int(stem), entry
