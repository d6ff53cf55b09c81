"""/watch, /unwatch, /find and /status through the bot in the simulated Telegram, with
the real app (watcher, sender, commands)."""

from __future__ import annotations

from datetime import timedelta

from capturekit import resolved, rows, until

from bot.app import default_components
from bot.sim.vclock import sleep_until
from storage.watchlist import find_entry

ADMIN, MEMBER = 100, 200


def setup(sim, **kw):
    w = sim.world
    admin = w.add_user("Ольга", "olga_desk", id=ADMIN)
    member = w.add_user("Марк", "mark_osint", id=MEMBER)
    s = sim.settings(admins=frozenset({ADMIN}), allowlist=frozenset({MEMBER}), **kw)
    return admin, member, s




def test_watch_and_unwatch_a_channel_at_run_time(sim):
    w = sim.world
    rybar = w.add_channel("rybar", "Рыбарь")
    w.post(rybar, "вчерашняя сводка", push=False)
    admin, member, s = setup(sim, watch=())

    async def body():
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            refused = await sim.ask(member, "/watch rybar", timeout=120)
            added = await sim.ask(admin, "/watch https://t.me/rybar", timeout=120)
            again = await sim.ask(admin, "/watch @Rybar", timeout=120)
            bad = await sim.ask(admin, "/watch no", timeout=120)
            unknown = await sim.ask(admin, "/watch no_such_channel", timeout=120)
            await until(lambda: _has(rt.db, rybar.id, 1), timeout=300, step=1.0)
            live = w.post(rybar, "после /watch")
            await until(lambda: _has(rt.db, rybar.id, live.id), timeout=300, step=1.0)
            stopped = await sim.ask(admin, "/unwatch rybar", timeout=120)
            after = w.post(rybar, "после /unwatch")
            await sleep_until(sim.now() + timedelta(minutes=20))
            got = await rows(rt.db, rybar.id)
            entry = await find_entry(rt.db, "rybar")
        return refused, added, again, bad, unknown, stopped, got, entry, after.id

    refused, added, again, bad, unknown, stopped, got, entry, after = sim.run(body)
    assert "Only tgmon's admins" in refused.text
    assert added.text.startswith("Now watching Рыбарь @rybar") and "24 h" in added.text
    assert again.text.startswith("Already watching Рыбарь @rybar")
    assert "not a channel username" in bad.text
    assert unknown.text == "Cannot watch @no_such_channel: no channel has the username " \
                           "@no_such_channel."
    assert stopped.text.startswith("Stopped watching Рыбарь @rybar")
    assert "channels file" not in stopped.text                 # an admin's entry
    assert set(got) == {1, 2} and after not in got            # nothing after /unwatch
    assert entry is None


async def _has(db, channel_id, message_id):
    return message_id in await rows(db, channel_id)


def test_find_lists_channels_with_buttons_and_the_button_watches_without_a_lookup(sim):
    w = sim.world
    w.add_channel("legionoffreedom", "Легион «Свобода России»", joined=False)
    w.add_channel("legion_news_sim", "<i>Legion</i> & news", joined=False)
    w.add_channel("rybar", "Рыбарь")
    admin, member, s = setup(sim, watch=("rybar",))

    async def body():
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "rybar"), timeout=300, step=1.0)
            resolves = len(w.requests_of("contacts.resolveUsername"))
            found = await sim.ask(admin, "/find legion", timeout=120)
            none = await sim.ask(admin, "/find zzzzzz", timeout=120)
            before = len(w.sent_by_bot(ADMIN))
            w.press(admin, b"watch:" + str(w.channel("legionoffreedom").id).encode()
                    + b":legionoffreedom")
            await sim.until(lambda: len(w.sent_by_bot(ADMIN)) > before)
            picked = w.sent_by_bot(ADMIN)[before]
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            await sim.until(lambda: _joined(w, "legionoffreedom"), timeout=120)
            later = len(w.requests_of("contacts.resolveUsername"))
            refused = await sim.ask(member, "/find legion", timeout=120)
        return found, none, picked, resolves, later, refused

    found, none, picked, resolves, later, refused = sim.run(body)
    assert "<i>Legion</i> & news @legion_news_sim" in found.text      # escaped, shown as is
    assert "Легион «Свобода России» @legionoffreedom" in found.text
    assert set(found.buttons) == {
        f"watch:{w.channel('legionoffreedom').id}:legionoffreedom".encode(),
        f"watch:{w.channel('legion_news_sim').id}:legion_news_sim".encode()}
    assert none.text == "No public channel matches “zzzzzz”."
    assert picked.text.startswith("Now watching Легион «Свобода России» @legionoffreedom")
    assert later == resolves                       # the search gave the access hash
    assert "Only tgmon's admins" in refused.text


def _joined(w, username):
    return w.user.id in w.channel(username).members


def test_status_shows_each_channel_and_the_delivery_queue(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    w.add_channel("no_longer_here", "Уйдёт в закрытые")
    admin, member, s = setup(sim, timezone="Europe/Moscow")

    async def body():
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            await sim.ask(admin, "/start", timeout=120)
            await until(lambda: resolved(rt.db, "no_longer_here"), timeout=300, step=1.0)
            w.post(legion, "пост")
            w.flood_wait("messages.getHistory", 30, role="user")
            w.make_private("no_longer_here")
            w.disconnect(5, role="user")
            await sleep_until(sim.now() + timedelta(minutes=15))
            status = await sim.ask(admin, "/status", timeout=120)
            refused = await sim.ask(member, "/status", timeout=120)
        return status, refused

    status, refused = sim.run(body)
    text = status.text
    assert text.startswith("Capture — 2 channels")
    legion_line = text.split("\n")[1:3]
    assert legion_line[0] == "• Легион @legionoffreedom — ok"
    assert "last post 12 Mar 2024 08:" in legion_line[1] and "MSK" in legion_line[1]
    assert "flood waits 1" in text
    assert "• Уйдёт в закрытые @no_longer_here — private: @no_longer_here is private now" \
        in text
    assert "failing (ChannelPrivateError), retrying" in text
    assert "Reconnects (24 h): 1" in text
    assert "Delivery queue: 0 waiting · bot flood waits since start: 0" in text
    assert "Only tgmon's admins" in refused.text


def test_a_watch_handled_before_the_watcher_started_is_looked_up_when_it_starts(sim, caplog):
    """Found by the soak (seed 92): an admin's /watch written while tgmon was down can
    reach the bot in the catch-up as it connects, before the watcher has started. Its
    lookup failed on an assertion ('Task exception was never retrieved' at ERROR) and
    the name stayed marked as being looked up, so it never was: the channel stayed
    unwatched. Here a component that starts before the watcher asks for the /watch."""
    import asyncio
    import logging

    from bot.watcher.component import Watcher

    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион", id=777)
    watcher = Watcher()
    asked: list[asyncio.Task] = []

    class EarlyWatch:
        name = "early"

        async def start(self, rt):
            asked.append(asyncio.create_task(watcher.watch("legionoffreedom", ADMIN)))
            await asyncio.sleep(1)              # the /watch is handled meanwhile

        async def stop(self):
            pass

    async def body():
        async with sim.running(components=lambda: [EarlyWatch(), watcher],
                               settings=sim.settings(watch=("someone_else",))) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=60, step=0.5)
            post = w.post(legion, "после")
            await sim.until(lambda: legion.id in watcher.live)
            await until(lambda: _has(rt.db, legion.id, post.id), timeout=600)
            _entry, outcome = await asked[0]
        return outcome

    outcome = sim.run(body)
    assert outcome is None or outcome.status == "ok"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
