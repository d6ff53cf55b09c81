"""A database file before SQLite opens it: what its header says, whether tgmon may
write where it lies, and creating it (with its directories) owner-only.

Nothing here changes an existing file, so a database tgmon refuses (not SQLite, from a
newer tgmon, in a place it cannot write) is left exactly as it was: its bytes, its
permissions and its journal mode.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from config.errors import TgmonError

MAGIC = b"SQLite format 3\x00"
HEADER = 100                         # bytes of SQLite's file header


class DatabaseError(TgmonError):
    """The database cannot be opened or is not a tgmon database."""


class DatabaseBusyError(DatabaseError, sqlite3.OperationalError):
    """Another process held the write lock for longer than the busy timeout. Still an
    ``sqlite3.OperationalError``, so code that handles database errors handles it too."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the database {path} is busy: another tgmon process (an import, a backfill or "
            "tgmon run) is writing to it; try again when it has finished (stop tgmon run "
            "for a large import)")


@dataclass(frozen=True)
class Header:
    """What the first 100 bytes of a database say (as last written to the main file:
    a WAL database may have newer pages in its -wal file)."""

    user_version: int
    wal: bool                        # file format 2: write-ahead log
    empty: bool = False              # a zero-length file: a new, empty database


def read_header(path: Path) -> Header:
    """The header of an existing file; refuses one that is not an SQLite database."""
    try:
        with path.open("rb") as f:
            head = f.read(HEADER)
    except OSError as e:
        raise DatabaseError(f"cannot read the database {path}: {e.strerror or e}") from None
    if not head:
        return Header(0, False, empty=True)
    if len(head) < HEADER or not head.startswith(MAGIC):
        raise DatabaseError(
            f"{path} is not an SQLite database: point --db or TGMON_DB at tgmon's database "
            "(by default data/tgmon.db)")
    return Header(int.from_bytes(head[60:64], "big"), head[18] == 2)


def _where(path: Path) -> str:
    """``path`` as the person should read it: a relative one with the directory it is in."""
    return str(path) if path.is_absolute() else f"{path} (in {Path.cwd()})"


WRITABLE_PLACE = "point --db or TGMON_DB at a place you can write (in Docker: the /data volume)"


SESSION_PLACE = "point TGMON_SESSION_DIR at a directory you can write"


def make_private_dir(path: Path, purpose: str, hint: str = WRITABLE_PLACE) -> None:
    """Create ``path`` and every missing parent readable by its owner only (``data/``
    holds the log and the session files). Existing directories are left as they are."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise DatabaseError(
                f"cannot create {purpose}: cannot create the directory {_where(new)}: "
                f"{e.strerror or e}; {hint}") from None


def create_owner_only(path: Path) -> None:
    """Create the database file (and its directories) readable by its owner only."""
    purpose = f"the database {path}"
    make_private_dir(path.parent, purpose)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as e:
        raise DatabaseError(f"cannot create the database {_where(path)}: {e.strerror or e}; "
                            f"{WRITABLE_PLACE}") from None
    os.close(fd)


def writable(path: Path) -> bool:
    """Whether tgmon may write the database and, beside it, its -wal and -shm files."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def check_writable(path: Path, command: str = "this command") -> None:
    """Refuse, before opening, a database tgmon could read but not write."""
    reading = "(export, stats, digest and rules test read it as it is)"
    if not os.access(path, os.W_OK):
        raise DatabaseError(
            f"the database {path} is read-only: {command} writes to it; make it writable "
            f"(chmod u+w) or work on a copy {reading}")
    if not os.access(path.parent, os.W_OK):
        raise DatabaseError(
            f"cannot write in {path.parent}, where SQLite keeps the database's journal "
            f"files (-wal, -shm) beside {path.name}: make the directory writable or move "
            f"the database {reading}")


def tighten(path: Path) -> None:
    """An accepted database readable by others is made owner-only (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except OSError:
        pass
