"""Building the Datasette of ``tgmon serve`` and serving it.

The log is opened by Datasette read-only (``mode=ro``; the read guard makes every
connection ``query_only``), on the live file: a ``tgmon run`` writing it meanwhile is
seen on the next page load (WAL: readers never block the writer, nor it them).

Served on 127.0.0.1 by default. Any other address needs ``TGMON_WEB_PASSWORD``: then
every request must carry it (HTTP Basic, user ``tgmon``), checked by the
datasette-auth-passwords plugin against a hash made at start; without it, ``tgmon
serve`` refuses in one line.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.web import catalog
from config.errors import TgmonError

if TYPE_CHECKING:
    from datasette.app import Datasette

USER = "tgmon"                       # the user name that goes with TGMON_WEB_PASSWORD
TEMPLATES = Path(__file__).parent / "templates"
# Datasette reads plugin secrets from the environment ({"$env": NAME}), so the hash is
# never shown by its /-/metadata page. Set here, read by Datasette in this process only.
_HASH_VARIABLE = "_TGMON_WEB_PASSWORD_HASH"
SETTINGS = {
    "allow_download": False,
    "suggest_facets": False,         # costly on a big log; the useful facets are set
    # a rule query reads every post of its period through the matcher: about 2,000 posts/s
    # (bench/bench_web.py), so 30 days of a busy desk's channels take seconds
    "sql_time_limit_ms": 20_000,
    "facet_time_limit_ms": 1000,
    "default_page_size": 50,
    "max_returned_rows": 1000,
}


class ServeError(TgmonError):
    """tgmon serve cannot start as asked."""


def is_local(host: str) -> bool:
    """Only this machine can reach ``host`` (a loopback address, or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password: str | None) -> None:
    if not is_local(host) and not password:
        raise ServeError(
            f"--host {host} would serve the log to other machines without a password: set "
            "TGMON_WEB_PASSWORD (people then log in as user tgmon), or serve on 127.0.0.1")


def tables_of(path: Path) -> set[str]:
    """The tables and views of the log (its schema only)."""
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    finally:
        conn.close()


def _register_plugin() -> None:
    from datasette.plugins import pm

    from bot.web import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name=plugin.PLUGIN)


def _log_database(ds: Datasette, path: Path) -> Any:
    """Datasette's database of the log, knowing only the tables the browser may read (it
    never counts, lists or describes the others; the read guard refuses them anyway)."""
    from datasette.database import Database

    class LogDatabase(Database):
        async def table_names(self) -> list[str]:
            return [t for t in await super().table_names() if catalog.readable(t)]

        async def view_names(self) -> list[str]:
            return [v for v in await super().view_names() if catalog.readable(v)]

    return LogDatabase(ds, path=str(path.resolve()), is_mutable=True)


def build(path: Path, *, password: str | None = None,
          media_dir: Path | None = None) -> Datasette:
    """The Datasette app over the log at ``path`` (checked and up to date beforehand)."""
    from datasette.app import Datasette

    _register_plugin()
    meta = catalog.metadata(tables_of(path))
    plugins: dict[str, Any] = {"tgmon": {"media_dir": str(media_dir) if media_dir else None}}
    if password:
        from datasette_auth_passwords.utils import hash_password

        os.environ[_HASH_VARIABLE] = hash_password(password)
        plugins["datasette-auth-passwords"] = {
            f"{USER}_password_hash": {"$env": _HASH_VARIABLE}, "http_basic_auth": True}
    meta["plugins"] = plugins
    ds = Datasette([], metadata=meta, settings=SETTINGS, template_dir=str(TEMPLATES))
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    ds.add_database(_log_database(ds, path), name=catalog.DB_NAME)
    return ds


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, or one line saying why there is none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"--host {host}: no such address ({e.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror}; choose another "
                         "--port (or stop what uses it)") from None
    sock.set_inheritable(True)
    return sock


async def serve(ds: Datasette, sock: socket.socket) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn handles both, finishing open requests)."""
    import uvicorn

    await ds.invoke_startup()
    config = uvicorn.Config(ds.app(), log_level="warning", lifespan="on",
                            access_log=False)
    await uvicorn.Server(config).serve(sockets=[sock])
