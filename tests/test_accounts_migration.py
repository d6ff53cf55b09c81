"""The accounts migration on a database of one account: everything it had becomes the
account ``main``'s, and nothing else changes."""

from __future__ import annotations

import sqlite3

from storage.db import migrations, open_database
from storage.normalise import SEARCH_FUNCTION, search_text, search_version
from storage.watchlist import live_entries


async def test_an_existing_install_becomes_main(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function(SEARCH_FUNCTION, 1, search_text, deterministic=True)
    conn.create_function("tgmon_search_version", 0, search_version)
    known = migrations()
    ours = next(i for i, (_, name, _) in enumerate(known) if name.endswith("_accounts.sql"))
    for version, _name, sql in known[:ours]:
        conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO channels VALUES (1001, 'rybar', 'Рыбарь', 'x', 'x')")
    conn.execute("INSERT INTO channels VALUES (1002, 'wargonzo', 'WarGonzo', 'x', 'x')")
    conn.executemany(
        "INSERT INTO watched (username, source, added_at, removed_at, channel_id, "
        "access_hash, status, status_at) VALUES (?, 'config', ?, ?, ?, ?, ?, ?)",
        [("rybar", "2024-03-01T00:00:00Z", None, 1001, 777, "ok", "2024-03-01T00:01:00Z"),
         ("wargonzo", "2024-03-01T00:00:00Z", "2024-03-05T00:00:00Z", 1002, 888, "ok",
          "2024-03-01T00:02:00Z"),
         ("dva_majors", "2024-03-02T00:00:00Z", None, None, None, "pending", None)])
    conn.execute("INSERT INTO account_ends (role, at, code, reason) VALUES "
                 "('user', '2024-03-03T00:00:00Z', 'SESSION_REVOKED', 'x'), "
                 "('bot', '2024-03-04T00:00:00Z', 'AUTH_KEY_UNREGISTERED', 'y')")
    conn.close()
    db = await open_database(path)
    try:
        assert (await db.fetchone("PRAGMA user_version"))[0] == len(migrations())
        entries = {e.username: e for e in await live_entries(db)}
        assert (entries["rybar"].account, entries["rybar"].mode,
                entries["rybar"].access_hash) == ("main", "joined", 777)
        # not resolved yet: no account holds it; it is placed when tgmon runs
        assert (entries["dva_majors"].account, entries["dva_majors"].mode) == (None, None)
        access = [tuple(r) for r in await db.fetchall(
            "SELECT account, channel_id, access_hash FROM channel_access ORDER BY channel_id")]
        # a removed entry's hash is kept too: watching it again needs no look-up
        assert access == [("main", 1001, 777), ("main", 1002, 888)]
        ends = [tuple(r) for r in await db.fetchall(
            "SELECT role, account FROM account_ends ORDER BY id")]
        assert ends == [("user", "main"), ("bot", None)]
        assert [tuple(r) for r in await db.fetchall("SELECT name FROM accounts")] == [
            ("main",)]
        assert (await db.fetchone("SELECT count(*) FROM channel_moves"))[0] == 0
    finally:
        await db.close()
