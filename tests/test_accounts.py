"""Issue 14: several watching accounts. Channels are spread over them (at most
TGMON_JOIN_LIMIT joined each, the rest polled), and an account Telegram ends mid-day
loses no post: its channels move to the others, each read on from its own cursor, and
the admins are told once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.app import default_components
from tests.storekit import read_rows as read

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




def test_a_banned_account_loses_no_post_and_its_channels_move(sim):
    scenario = a_day({"kind": "account_banned", "account": "second"})
    scenario["events"].append({"at": (START + timedelta(hours=13)).isoformat(),
                               "message": {"from": ADMIN, "text": "/status"}})
    report = sim.play(scenario, components=default_components)
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
    # /status shows each account and each channel's holder
    status = next(m.text for m in world.sent_by_bot(ADMIN) if m.text.startswith("Capture"))
    assert "Watching accounts — 2 running" in status
    assert "• second — ended" in status and "USER_DEACTIVATED_BAN" in status
    assert "• main — running\n   5 channels: 3 joined, 2 polled" in status
    assert "• third — running\n   5 channels: 3 joined, 2 polled" in status
    assert status.count(" · main, ") == 5 and status.count(" · third, ") == 5
    # ... and pushes reach exactly one account per joined channel
    members = Counter(frozenset(ch.members) for ch in world.channels.values())
    assert all(len(m) <= 1 for m in members)


def test_moved_channels_are_looked_up_again_by_their_new_account(sim):
    report = sim.play(a_day({"kind": "session_revoked", "account": "third"}),
                      components=default_components)
    world, db = report.world, report.settings.db_path
    assert report.ended is None
    moved = read(db, "SELECT m.to_account, c.username, m.why FROM channel_moves m "
                     "JOIN channels c USING (channel_id)")
    assert len(moved) == 3 and {w for _, _, w in moved} == {"SESSION_REVOKED"}
    # each new holder resolved each channel it got (a hash is valid for its account only)
    for to, username, _ in moved:
        asked = [r.username for r in world.requests_of("contacts.resolveUsername",
                                                       account=to)]
        assert username in asked
    hashes = read(db, "SELECT account, channel_id, access_hash FROM channel_access")
    by_channel: dict[int, set[str]] = {}
    for account, cid, _ in hashes:
        by_channel.setdefault(cid, set()).add(account)
    assert sum(len(v) == 2 for v in by_channel.values()) == 3    # old and new holder
    # all posts of the day are there, once
    published = sum(len(ch.posts) for ch in world.channels.values())
    assert read(db, "SELECT count(*), count(DISTINCT channel_id || ':' || message_id) "
                    "FROM posts") == [(published, published)]


def test_one_accounts_flood_wait_never_stops_anothers_reads(sim):
    noon = START + timedelta(hours=12)
    scenario = a_day({"kind": "flood_wait", "method": "messages.getHistory",
                      "seconds": 3600, "account": "second"}, accounts=("main", "second"),
                     join_limit=2)
    report = sim.play(scenario, components=default_components)
    world, db = report.world, report.settings.db_path
    ids = {name: world.account("user", name).id for name in ("main", "second")}
    during = [r for r in world.requests if noon < r.at < noon + timedelta(hours=1)
              and type(r.request).__name__ == "GetHistoryRequest"]
    assert any(r.account_id == ids["main"] for r in during)
    # second was told to wait: the wait is journalled as its own
    floods = read(db, "SELECT account, detail FROM capture_events WHERE kind = 'flood_wait'")
    assert floods and {a for a, _ in floods} == {"second"}
    published = sum(len(ch.posts) for ch in world.channels.values())
    assert read(db, "SELECT count(*) FROM posts") == [(published,)]


def test_the_last_account_lost_stops_tgmon_and_says_none_is_left(sim):
    scenario = a_day({"kind": "account_banned", "account": "second"},
                     accounts=("main", "second"))
    scenario["events"].append({"at": (START + timedelta(hours=15)).isoformat(),
                               "fault": {"kind": "session_revoked", "account": "main"}})
    report = sim.play(scenario, components=default_components)
    assert report.ended is not None and report.ended.account == "main"
    assert report.ended.code == "SESSION_REVOKED"
    told = [m.text for m in report.world.sent_by_bot(ADMIN)]
    assert sum("second lost" in t for t in told) == 1
    stopped = [t for t in told if "tgmon has stopped" in t]
    assert len(stopped) == 1 and "No watching account is left" in stopped[0]
    ends = read(report.settings.db_path,
                "SELECT account, code FROM account_ends ORDER BY id")
    assert ends == [("second", "USER_DEACTIVATED_BAN"), ("main", "SESSION_REVOKED")]


def test_stats_shows_each_account_after_a_loss(sim, capsys):
    from bot.cli import main

    report = sim.play(a_day({"kind": "account_banned", "account": "second"}),
                      components=default_components)
    assert main(["stats", "--db", str(report.settings.db_path)]) == 0
    out = capsys.readouterr().out
    block = out.split("Watching accounts (flood waits and failures of the last 24 h):\n")[1]
    lines = block.split("\n\n")[0].splitlines()
    assert lines[0].startswith("  main: active, last started 2024-03-12 00:00 UTC; holds 5 "
                               "channels: 3 joined, ")
    assert lines[1].startswith("  second: ended (USER_DEACTIVATED_BAN) 2024-03-12 12:")
    assert "holds no channel" in lines[1]
    assert lines[2].startswith("  third: active")
    assert "user second: the watching account second was banned by Telegram" in out


def test_login_of_a_second_account_and_run_starts_both(sim):
    import stat

    from bot.app import App
    from bot.cli.login import login
    from bot.telegram.login import Prompts
    from bot.watcher.session import has_auth_key, logged_in_accounts
    from tests.test_login import answers

    sim.world.add_account("second")
    sim.world.user_logged_in = False
    s = sim.settings()

    def prompts(phone):
        return Prompts(phone=answers(phone), code=answers("12345"),
                       password=answers("x"), say=lambda _: None)

    async def body():
        assert "Logged in as Monitor" in await login(s, sim.world.client_factory(),
                                                     prompts("+15550000001"))
        said = await login(s, sim.world.client_factory(), prompts("+15550000002"),
                           "second")
        assert "Logged in as Monitor 2 (watching account second)" in said
        assert logged_in_accounts(s) == ["main", "second"]
        app = App(s, make_client=sim.world.client_factory(), components=lambda: [])
        rt = await app.start()
        try:
            assert rt.accounts.names() == ["main", "second"]
            me = await rt.accounts.client("second").get_me()
            assert me.id == sim.world.account("user", "second").id
        finally:
            await app.stop()

    sim.run(body)
    session = s.session_dir / "second.session"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert has_auth_key(s.account_session("second"))


def test_an_account_revoked_while_tgmon_was_down_moves_at_the_next_start(sim):
    from storage.watchlist import live_entries

    w = sim.world
    w.add_account("second")
    w.set_join_limit(5)
    chans = [w.add_channel(f"unit_{i}", f"Unit {i}", joined=False) for i in range(4)]
    admin = w.add_user("Desk")
    s = sim.settings(admins=frozenset({admin.id}), join_limit=2)

    components = default_components
    async def held(rt):
        return {e.username: (e.account, e.mode) for e in await live_entries(rt.db)}

    async def stored(rt):
        return (await rt.db.fetchone("SELECT count(*) FROM posts"))[0]

    async def body():
        async with sim.running(components=components, settings=s) as (_app, rt):
            await sim.ask(admin, "/start", timeout=120)
            await sim.until(lambda: sum(len(c.members) for c in chans) == 4, timeout=600)
            before = await held(rt)
        w.revoke_sessions("user", "second")
        for c in chans:
            w.post(c, f"{c.username}: пока tgmon не работал")
        async with sim.running(components=components, settings=s) as (_app, rt):
            assert rt.accounts.names() == ["main"]
            await sim.until(lambda: _all_ok(rt), timeout=900)
            await sim.until(lambda: _equals(stored(rt), 4), timeout=900)
            after = await held(rt)
        return before, after

    async def _all_ok(rt):
        return all(a == "main" for a, _ in (await held(rt)).values())

    async def _equals(value, expected):
        return await value == expected

    before, after = sim.run(body)
    assert sorted(before.values()) == [("main", "joined")] * 2 + [("second", "joined")] * 2
    # main joins up to its limit of 2; what second held is polled by main
    assert sorted(after.values()) == [("main", "joined")] * 2 + [("main", "polled")] * 2
    told = [m.text for m in w.sent_by_bot(admin.id) if "second lost" in m.text]
    assert len(told) == 1 and "SESSION_REVOKED" in told[0]


def test_an_account_logged_in_since_joins_what_the_others_could_only_poll(sim):
    from storage.watchlist import live_entries

    w = sim.world
    w.add_account("second")
    chans = [w.add_channel(f"unit_{i}", f"Unit {i}", joined=False) for i in range(4)]
    s = sim.settings(join_limit=2)

    async def held(rt):
        return sorted((e.username, e.account, e.mode) for e in await live_entries(rt.db))

    async def count(rt):
        return (await rt.db.fetchone("SELECT count(*) FROM posts"))[0]

    async def body():
        async with sim.running(components=default_components, settings=s,
                               accounts=["main"]) as (_app, rt):
            await sim.until(lambda: sum(len(c.members) for c in chans) == 2, timeout=600)
            alone = await held(rt)
        for c in chans:
            w.post(c, f"{c.username}: пока tgmon не работал")
        second = w.account("user", "second").id
        async with sim.running(components=default_components, settings=s,
                               accounts=["main", "second"]) as (_app, rt):
            await sim.until(lambda: sum(second in c.members for c in chans) == 2, timeout=900)

            async def all_stored():
                return await count(rt) == 4
            await sim.until(all_stored, timeout=900)
            together = await held(rt)
            moves = [tuple(r) for r in await rt.db.fetchall(
                "SELECT from_account, to_account, mode, why FROM channel_moves")]
        return alone, together, moves

    alone, together, moves = sim.run(body)
    assert [(a, m) for _, a, m in alone] == [("main", "joined")] * 2 + [("main", "polled")] * 2
    assert sorted((a, m) for _, a, m in together) == [("main", "joined")] * 2 + \
        [("second", "joined")] * 2
    assert moves == [("main", "second", "joined", "ROOM")] * 2
    # pushes reach exactly one account per channel
    assert all(len(c.members) == 1 for c in chans)
