"""Opening the database: owner-only file, WAL, foreign keys, versioned migrations;
read-only for the commands that only read; a busy database named in one line."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiosqlite

from storage.dbfile import (
    DatabaseBusyError,
    DatabaseError,
    check_writable,
    create_owner_only,
    read_header,
    tighten,
    writable,
)
from storage.normalise import SEARCH_FUNCTION, search_text, search_version

# How long a writer waits for another process's write lock before giving up
# (DatabaseBusyError, one line); SQLite's busy timeout.
BUSY_TIMEOUT_MS = 5000
SQLITE_BUSY = 5

T = TypeVar("T")


class _CountingConnection(aiosqlite.Connection):
    """An aiosqlite connection that knows how many operations are in flight.

    The simulated Telegram's virtual clock must not move while the database
    thread is still working; it asks :attr:`Database.busy`.
    """

    inflight = 0
    path = Path()

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.inflight += 1
        try:
            return await super()._execute(fn, *args, **kwargs)
        except sqlite3.OperationalError as e:
            # Still locked after the busy timeout: say which database, not a traceback.
            if getattr(e, "sqlite_errorcode", 0) & 0xFF == SQLITE_BUSY:
                raise DatabaseBusyError(self.path) from None
            raise
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
        self._closed = False

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
        cur = await self.conn.execute(sql, _bind(params))
        try:
            while True:
                rows = await cur.fetchmany(batch)
                if not rows:
                    return
                for row in rows:
                    yield row
        finally:
            # A stream its reader abandoned (e.g. on a closed pipe) is finalised later, by
            # the garbage collector, maybe after close(): its cursor went with the
            # connection then.
            if not self._closed:
                await cur.close()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the database thread, in one go: for work that mixes many
        small queries with Python (checking rule candidates against the index's
        vocabulary) without a round trip per query. Keep each call short: the thread
        serves everyone."""
        return await self.conn._execute(fn, self.conn._conn)  # aiosqlite's own queue

    async def close(self) -> None:
        """Close the connection; a cancellation meanwhile (SIGTERM, Ctrl-C) waits for the
        close to finish, so the database thread never outlives the event loop."""
        self._closed = True
        closing = asyncio.ensure_future(self.conn.close())
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            await closing
            raise


async def open_database(path: Path, *, must_exist: bool = False,
                        read_only: bool = False) -> Database:
    """Open (creating owner-only if needed) and migrate the database at ``path``.

    ``read_only`` (the commands that only read: export, stats, digest, rules test): an
    up-to-date database is opened read-only, never migrated, chmod-ed or switched to WAL,
    so it can lie on a read-only disk. Every database is checked before anything is
    changed: one that is not SQLite, not tgmon's or from a newer tgmon is refused as it is.
    """
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory; give the path of a database file")
    if not path.exists():
        if must_exist or read_only:
            raise DatabaseError(
                f"no database at {path}: import an export (tgmon import) or run tgmon first, "
                "or point --db / TGMON_DB at an existing database")
        create_owner_only(path)
    else:
        header = read_header(path)
        _refuse_newer(path, header.user_version)
        if read_only:
            found = await _open_read_only(path)
            if found is not None:
                return found
        check_writable(path)
    conn = await _connect(path, str(path))
    db = Database(conn, path)
    try:
        await db.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
        await _check_tgmon(db, await _user_version(db))
        tighten(path)
        await _configure(db)
        await _migrate(db)
        await _reindex_if_stale(db)
    except DatabaseError:
        await db.close()
        raise
    except sqlite3.DatabaseError as e:
        await db.close()
        raise DatabaseError(f"{path} is not a usable tgmon database: {e}") from None
    except BaseException:
        await db.close()
        raise
    return db


async def _connect(path: Path, target: str, *, uri: bool = False) -> _CountingConnection:
    connector = partial(sqlite3.connect, target, isolation_level=None,
                        check_same_thread=False, uri=uri)
    conn = _CountingConnection(connector, iter_chunk_size=256)
    conn.path = path
    try:
        await conn
    except sqlite3.Error as e:
        raise DatabaseError(f"cannot open database {path}: {e}") from None
    conn.row_factory = sqlite3.Row
    return conn


async def _open_read_only(path: Path) -> Database | None:
    """The database opened read-only, or None when it needs migrating and may be written
    (it is then opened as for writing). Refuses an older one that cannot be written."""
    base = "file:" + quote(str(path.resolve()))
    db = Database(await _connect(path, f"{base}?mode=ro", uri=True), path)
    try:
        try:
            version = await _user_version(db)
        except sqlite3.OperationalError:
            # A WAL database in a directory it cannot write: SQLite wants to create its
            # -shm file. Nobody can write here, so read the file as it stands.
            await db.close()
            journal = path.with_name(path.name + "-wal")
            if journal.exists() and journal.stat().st_size > 0:
                raise DatabaseError(
                    f"{path} lies in a read-only place and its journal {journal.name} holds "
                    "changes SQLite cannot read without writing beside it: copy the "
                    "database with its -wal file to a writable place") from None
            db = Database(await _connect(path, f"{base}?mode=ro&immutable=1", uri=True),
                          path)
            version = await _user_version(db)
        await _check_tgmon(db, version)
        latest = len(migrations())
        if version == latest and writable(path) and await _search_index_stale(db):
            await db.close()
            return None         # opened for writing, which rebuilds the search index
        if version < latest:
            await db.close()
            if writable(path):
                return None
            raise DatabaseError(
                f"{path} was written by an older tgmon (schema {version}, this one reads "
                f"{latest}) and cannot be upgraded where it lies (read-only): make a "
                "writable copy and run any tgmon command on it once")
        for pragma in (f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}",
                       "PRAGMA query_only = ON"):
            await db.conn.execute(pragma)
    except DatabaseError:
        await db.close()
        raise
    except sqlite3.DatabaseError as e:
        await db.close()
        raise DatabaseError(f"{path} is not a usable tgmon database: {e}") from None
    except BaseException:
        await db.close()
        raise
    return db


async def _user_version(db: Database) -> int:
    row = await db.fetchone("PRAGMA user_version")
    return int(row[0]) if row else 0


def _refuse_newer(path: Path, version: int) -> None:
    known = len(migrations())
    if version > known:
        raise DatabaseError(
            f"{path} was written by a newer tgmon (schema {version}, this one knows "
            f"{known}): upgrade tgmon")


async def _check_tgmon(db: Database, version: int) -> None:
    """Refuse a database of a newer tgmon, or another program's SQLite database."""
    _refuse_newer(db.path, version)
    if version == 0:
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name LIMIT 4")
        if rows:
            names = ", ".join(r[0] for r in rows[:3]) + (", ..." if len(rows) > 3 else "")
            raise DatabaseError(
                f"{db.path} is an SQLite database but not a tgmon database (its tables: "
                f"{names}): point --db or TGMON_DB at tgmon's database")


# Posts of a kilobyte or two fill 4 KB pages badly (six to a page, a tenth left
# empty); 8 KB pages hold them better. Set before anything is written: a database
# created with another page size keeps it.
PAGE_SIZE = 8192


async def _configure(db: Database) -> None:
    for pragma in (f"PRAGMA page_size = {PAGE_SIZE}", "PRAGMA journal_mode = WAL",
                   "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"):
        await db.conn.execute(pragma)
    # The full-text index holds the normalised text (migration 0010): its triggers and
    # index_pending call this function, so every connection that writes posts needs it.
    await db.conn.create_function(SEARCH_FUNCTION, 1, search_text, deterministic=True)
    await db.conn.create_function("tgmon_search_version", 0, search_version)


async def _migrate(db: Database) -> None:
    current = await _user_version(db)
    known = migrations()
    _refuse_newer(db.path, current)
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
    if not await _search_index_stale(db):
        return
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('delete-all')")
        await conn.execute(f"INSERT INTO posts_fts (rowid, text) "
                           f"SELECT id, {SEARCH_FUNCTION}(text) FROM posts")
        await conn.execute("DELETE FROM fts_pending")
        await conn.execute("DELETE FROM fts_normalisation")
        await conn.execute("INSERT INTO fts_normalisation (version) VALUES (?)",
                           (search_version(),))


async def _search_index_stale(db: Database) -> bool:
    row = await db.fetchone("SELECT version FROM fts_normalisation")
    return row is None or row[0] != search_version()
