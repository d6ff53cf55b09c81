"""Issue 14: several watching accounts. Channels are spread over them (at most
TGMON_JOIN_LIMIT joined each, the rest polled), and an account Telegram ends mid-day
loses no post: its channels move to the others, each read on from its own cursor, and
the admins are told once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.app import default_components
from storage.db import open_database

ADMIN = 700001
START = datetime(2024, 3, 12, 0, 0, tzinfo=UTC)
CHANNELS = [f"chan_{i:02d}" for i in range(10)]


def a_day(fault: dict | None, *, accounts=("main", "second", "third"), join_limit=3,
          every=timedelta(minutes=15)) -> dict:
    """Ten channels, posts all day round-robin, ``fault`` at noon."""
    events = [{"at": (START + timedelta(minutes=1)).isoformat(),
               "message": {"from": ADMIN, "text": "/start"}}]
    at, n, ids = START + timedelta(minutes=10), 0, Counter()
    while at < START + timedelta(hours=23, minutes=50):
        name = CHANNELS[n % len(CHANNELS)]
        ids[name] += 1
        events.append({"at": at.isoformat(),
                       "post": {"channel": name, "id": 100 + ids[name],
                                "text": f"{name}: сообщение {n}"}})
        at, n = at + every, n + 1
    if fault is not None:
        events.append({"at": (START + timedelta(hours=12)).isoformat(), "fault": fault})
    channels = [{"id": 1_900_000_001 + i, "username": name, "title": name.upper(),
                 "joined": False,
                 "history": [{"id": 100, "date": (START - timedelta(hours=2)).isoformat(),
                              "text": f"{name}: вчера"}]}
                for i, name in enumerate(CHANNELS)]
    return {"start": START.isoformat(), "end": (START + timedelta(days=1)).isoformat(),
            "accounts": list(accounts),
            "settings": {"admins": [ADMIN], "join_limit": join_limit},
            "channels": channels, "users": [{"id": ADMIN, "first_name": "Desk"}],
            "events": events}


def read(db_path, sql, params=()):
    async def go():
        db = await open_database(db_path)
        try:
            return [tuple(r) for r in await db.fetchall(sql, params)]
        finally:
            await db.close()
    return asyncio.run(go())


def test_a_banned_account_loses_no_post_and_its_channels_move(sim):
    report = sim.play(a_day({"kind": "account_banned", "account": "second"}),
                      components=default_components)
    world, db = report.world, report.settings.db_path
    assert report.ended is None                       # tgmon went on with main and third

    # every post stored once, each with its own text
    published = {(ch.id, p.id): p.text for ch in world.channels.values()
                 for p in ch.posts.values()}
    stored = read(db, "SELECT channel_id, message_id, text FROM posts")
    assert len(stored) == len(published) == 10 * 1 + 95
    assert {(c, m): t for c, m, t in stored} == published

    # reassigned: second holds nothing; nobody joins more than 3; the rest is polled
    held = read(db, "SELECT w.username, w.account, w.mode FROM watched w "
                    "WHERE removed_at IS NULL ORDER BY username")
    assert len(held) == 10 and {a for _, a, _ in held} == {"main", "third"}
    per = Counter((a, m) for _, a, m in held)
    assert per[("main", "joined")] == per[("third", "joined")] == 3
    assert per[("main", "polled")] + per[("third", "polled")] == 4
    moves = read(db, "SELECT from_account, to_account, mode, why FROM channel_moves")
    assert len(moves) == 3
    assert all(f == "second" and t in ("main", "third") and w == "USER_DEACTIVATED_BAN"
               for f, t, _, w in moves)

    # the admins were told once, naming the account and what moved
    told = [m.text for m in world.sent_by_bot(ADMIN) if "second lost" in m.text]
    assert len(told) == 1
    assert "banned" in told[0] and "USER_DEACTIVATED_BAN" in told[0]
    moved_names = read(db, "SELECT c.username FROM channel_moves m JOIN channels c "
                           "USING (channel_id)")
    assert all(f"@{n}" in told[0] for (n,) in moved_names)
    # ... and pushes reach exactly one account per joined channel
    members = Counter(frozenset(ch.members) for ch in world.channels.values())
    assert all(len(m) <= 1 for m in members)
