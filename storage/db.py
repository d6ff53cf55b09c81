"""Opening the database: owner-only file, WAL, foreign keys, versioned migrations."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from config.errors import TgmonError
from storage.normalise import SEARCH_FUNCTION, search_text, search_version


class DatabaseError(TgmonError):
    """The database cannot be opened or is not a tgmon database."""


class _CountingConnection(aiosqlite.Connection):
    """An aiosqlite connection that knows how many operations are in flight.

    The simulated Telegram's virtual clock must not move while the database
    thread is still working; it asks :attr:`Database.busy`.
    """

    inflight = 0

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.inflight += 1
        try:
            return await super()._execute(fn, *args, **kwargs)
        finally:
            self.inflight -= 1

    # Opening and closing run on the thread too, without going through _execute.
    async def _connect(self) -> aiosqlite.Connection:
        self.inflight += 1
        try:
            return await super()._connect()
        finally:
            self.inflight -= 1

    async def close(self) -> None:
        self.inflight += 1
        try:
            await super().close()
        finally:
            self.inflight -= 1


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every migration file, in order."""
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name}: expected number {expected:04d}")
    return found


def _create_owner_only(path: Path) -> None:
    """Create the database file (and its directory) readable by its owner only."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _tighten(path: Path) -> None:
    """An existing database readable by others is made owner-only (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except OSError:
        pass


# Positional (``?``) or named (``:name``) parameters.
Params = Iterable[Any] | Mapping[str, Any]


def _bind(params: Params) -> tuple[Any, ...] | Mapping[str, Any]:
    return params if isinstance(params, Mapping) else tuple(params)


class Database:
    """The application's connection. Writes go through :meth:`transaction`, which
    serialises them across tasks (one SQLite connection is shared by the app)."""

    def __init__(self, conn: _CountingConnection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """True while an operation runs on the database thread."""
        return self.conn.inflight > 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; everything is rolled back on any error."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> None:
        """One write statement in its own transaction."""
        async with self.transaction() as conn:
            await conn.execute(sql, _bind(params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, _bind(params)) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """For small, bounded results only; stream large reads with :meth:`stream`."""
        async with self.conn.execute(sql, _bind(params)) as cur:
            return list(await cur.fetchall())

    async def stream(self, sql: str, params: Params = (),
                     batch: int = 500) -> AsyncIterator[sqlite3.Row]:
        """Rows in batches, so memory stays flat whatever the size of the result."""
        async with self.conn.execute(sql, _bind(params)) as cur:
            while True:
                rows = await cur.fetchmany(batch)
                if not rows:
                    return
                for row in rows:
                    yield row

    async def close(self) -> None:
        await self.conn.close()


async def open_database(path: Path, *, must_exist: bool = False) -> Database:
    """Open (creating owner-only if needed) and migrate the database at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory; give the path of a database file")
    if not path.exists():
        if must_exist:
            raise DatabaseError(
                f"no database at {path}: import an export (tgmon import) or run tgmon first, "
                "or point --db / TGMON_DB at an existing database")
        _create_owner_only(path)
    else:
        _tighten(path)
    connector = partial(sqlite3.connect, str(path), isolation_level=None,
                        check_same_thread=False)
    conn = _CountingConnection(connector, iter_chunk_size=256)
    try:
        await conn
    except sqlite3.Error as e:
        raise DatabaseError(f"cannot open database {path}: {e}") from None
    conn.row_factory = sqlite3.Row
    db = Database(conn, path)
    try:
        await _configure(db)
        await _migrate(db)
        await _reindex_if_stale(db)
    except sqlite3.DatabaseError as e:
        await conn.close()
        raise DatabaseError(f"{path} is not a usable tgmon database: {e}") from None
    except BaseException:
        await conn.close()
        raise
    return db


async def _configure(db: Database) -> None:
    for pragma in ("PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
                   "PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 5000"):
        await db.conn.execute(pragma)
    # The full-text index holds the normalised text (migration 0009): its triggers and
    # index_pending call this function, so every connection that writes posts needs it.
    await db.conn.create_function(SEARCH_FUNCTION, 1, search_text, deterministic=True)
    await db.conn.create_function("tgmon_search_version", 0, search_version)


async def _migrate(db: Database) -> None:
    row = await db.fetchone("PRAGMA user_version")
    current = row[0] if row else 0
    known = migrations()
    if current > len(known):
        raise DatabaseError(
            f"{db.path} was written by a newer tgmon (schema {current}, this one knows "
            f"{len(known)}): upgrade tgmon")
    for version, _name, sql in known[current:]:
        # executescript runs the whole file; the version is set inside the same transaction.
        script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
        try:
            await db.conn.executescript(script)
        except BaseException:
            if db.conn.in_transaction:
                await db.conn.execute("ROLLBACK")
            raise


async def _reindex_if_stale(db: Database) -> None:
    """Rebuild the full-text index when it was built by another normalisation (a newer
    storage.normalise, or Python's Unicode database after an upgrade): its edit trigger
    must find a post's old words by normalising the old text the same way."""
    row = await db.fetchone("SELECT version FROM fts_normalisation")
    if row is not None and row[0] == search_version():
        return
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('delete-all')")
        await conn.execute(f"INSERT INTO posts_fts (rowid, text) "
                           f"SELECT id, {SEARCH_FUNCTION}(text) FROM posts")
        await conn.execute("DELETE FROM fts_pending")
        await conn.execute("DELETE FROM fts_normalisation")
        await conn.execute("INSERT INTO fts_normalisation (version) VALUES (?)",
                           (search_version(),))
