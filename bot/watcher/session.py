"""The watching account's session file: one process at a time, and logged in.

Two processes on one Telethon session corrupt its update state and make Telegram
answer AUTH_KEY_DUPLICATED; ``tgmon run``, ``tgmon backfill`` and ``tgmon login``
therefore take an exclusive lock on ``<session>.session.lock`` first.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from config.accounts import MAIN, account_of_stem, ordered
from config.errors import TgmonError
from config.settings import Settings
from storage.dbfile import SESSION_PLACE, make_private_dir


class SessionLockedError(TgmonError):
    pass


def session_file(base: Path) -> Path:
    """``data/user`` -> ``data/user.session`` (Telethon's naming)."""
    return base.with_name(base.name + ".session")


class SessionLock:
    """An exclusive ``flock`` on the lock file next to a session; released on close or
    when the process ends (the kernel drops it, so a crash leaves no stale lock)."""

    def __init__(self, base: Path) -> None:
        self.path = base.with_name(base.name + ".session.lock")
        self.session = session_file(base)
        self._fd: int | None = None

    def acquire(self) -> SessionLock:
        make_private_dir(self.path.parent, "the session files", SESSION_PLACE)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise SessionLockedError(
                f"another tgmon process{who} is using the session {self.session}: stop it "
                "first (tgmon run, backfill and login cannot share a watching account's "
                "session), or point TGMON_SESSION_DIR at another directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> SessionLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def has_auth_key(base: Path) -> bool:
    """Whether the session file holds an authorisation key (someone logged in once).
    Read without Telethon and without the network, so ``tgmon run`` can refuse early."""
    path = session_file(base)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT auth_key FROM sessions WHERE auth_key IS NOT NULL "
                               "LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def require_login(base: Path, account: str = MAIN) -> None:
    """Refuse, in one line, when the session was never logged in."""
    from bot.runtime import NotAuthorizedError

    if not has_auth_key(base):
        option = "" if account == MAIN else f" --account {account}"
        raise NotAuthorizedError(
            f"no logged-in session at {session_file(base)}: run `tgmon login{option}` once "
            "in a terminal (phone, code, two-step password), then start tgmon again")


def logged_in_accounts(settings: Settings) -> list[str]:
    """The watching accounts with a logged-in session file in the session directory
    (for the configured server), ``main`` first; ``[main]`` when there is none, so that
    starting says what to do about main's session."""
    suffix = "" if settings.server is None else f"-{settings.server.slug}"
    found = []
    if settings.session_dir.is_dir():
        for path in settings.session_dir.glob(f"*{suffix}.session"):
            stem = path.name[:-len(".session")]
            if suffix:
                stem = stem[:-len(suffix)]
            name = account_of_stem(stem)
            if name is not None and settings.account_session(name) == \
                    path.with_name(path.name[:-len(".session")]) and \
                    has_auth_key(settings.account_session(name)):
                found.append(name)
    return ordered(found) or [MAIN]
