"""The read guard on every connection Datasette opens to the log.

Datasette lets people type SQL, so hiding internal tables from its pages is not enough:
SQLite's authorizer refuses, for every statement, a read of any table or view that
:func:`bot.web.catalog.readable` does not name (a view over an internal table is refused
too: SQLite checks the tables a view reads), and reads withheld columns as NULL.
``PRAGMA table_info`` and the like answer nothing for an internal table, so its columns
and foreign keys never reach a page. Attaching another database is refused, and the
connection is ``query_only``: nothing is written, whatever a plugin or query tries.
"""

from __future__ import annotations

import sqlite3

from bot.web.catalog import SERVED, readable

# Virtual tables every connection has, read by ordinary queries (JSON, pragma functions).
_BUILT_IN_PREFIXES = ("sqlite_", "pragma_")
_BUILT_IN = frozenset({"json_each", "json_tree", "generate_series"})
# Pragmas that describe a table named by their argument.
_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "foreign_key_list", "index_list",
                            "foreign_key_check"})


def decide(action: int, arg1: str | None, arg2: str | None) -> int:
    """SQLite's authorizer answer (``SQLITE_OK``, ``SQLITE_IGNORE``, ``SQLITE_DENY``) for
    one action of a statement being prepared (pure)."""
    if action == sqlite3.SQLITE_READ and arg1 is not None:
        if arg1.startswith(_BUILT_IN_PREFIXES) or arg1 in _BUILT_IN:
            return sqlite3.SQLITE_OK
        if not readable(arg1):
            return sqlite3.SQLITE_DENY
        served = SERVED.get(arg1)
        if served is not None and arg2 in served.withheld:
            return sqlite3.SQLITE_IGNORE
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None \
            and (arg1 or "").lower() in _TABLE_PRAGMAS:
        # table_info(outbox), foreign_key_list(alerts), index_list(rules): no answer
        table = arg2.strip("[]\"'`")
        if not readable(table) and not table.startswith(_BUILT_IN_PREFIXES):
            return sqlite3.SQLITE_IGNORE
        return sqlite3.SQLITE_OK
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
               _source: str | None) -> int:
    return decide(action, arg1, arg2)


def guard(conn: sqlite3.Connection) -> None:
    """Make ``conn`` read only what the browser may read, and nothing else."""
    conn.execute("PRAGMA query_only = 1")
    conn.set_authorizer(_authorize)
