"""The bot's commands through the simulated Telegram: real Telethon bot client, real
App, the durable outbox and the rate-limited sender."""

from __future__ import annotations

from datetime import timedelta

from simkit import until

from bot.app import default_components
from storage import outbox
from storage.chats import get_chat, grant_of
from storage.subscriptions import subscribed_channels
from storage.watchlist import find_entry

ADMIN, ALLOWED, STRANGER = 100, 200, 300


def people(sim):
    w = sim.world
    return (w.add_user("Админ", "boss", id=ADMIN), w.add_user("Анна", "anna_osint", id=ALLOWED),
            w.add_user("Иван", "ivan", id=STRANGER))


def settings(sim, **kw):
    base = dict(admins=frozenset({ADMIN}), allowlist=frozenset({ALLOWED}), access="allowlist")
    base.update(kw)
    return sim.settings(**base)


def legion(sim, cid=777):
    """A channel in the simulated Telegram; the app's watcher resolves it at start."""
    return sim.world.add_channel("legionoffreedom", "Легион", id=cid)


async def watched(sim, rt, username="legionoffreedom"):
    """Wait until the watcher has resolved the channel."""
    async def resolved():
        entry = await find_entry(rt.db, username)
        return entry is not None and entry.resolved
    await until(resolved, timeout=60, step=0.5)





def test_access_modes_refuse_with_a_reason_and_help_shows_what_one_may_run(sim):
    admin, anna, ivan = people(sim)

    async def body():
        async with sim.running(components=default_components, settings=settings(sim)) as (_app, _):
            refused = await sim.ask(ivan, "/subscribe legionoffreedom")
            assert "not on this bot's allowlist" in refused.text and "/allow 300" in refused.text
            start = await sim.ask(ivan, "/start")
            assert "tgmon" in start.text and "/allow 300" in start.text
            anna_help = (await sim.ask(anna, "/help")).text
            assert "/subscribe CHANNEL" in anna_help and "/allow" not in anna_help
            admin_help = (await sim.ask(admin, "/help")).text
            assert "/allow USER" in admin_help and "/users" in admin_help
            assert "Only tgmon's admins" in (await sim.ask(anna, "/users")).text

    sim.run(body)


def test_admins_allow_and_deny_people(sim):
    admin, anna, ivan = people(sim)

    async def body():
        s = settings(sim)
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            await sim.ask(ivan, "/start")                       # Иван is known by @ivan now
            assert "300" in (await sim.ask(admin, "/allow @ivan")).text
            assert await grant_of(rt.db, STRANGER) is True
            assert "No channels are watched yet" in (await sim.ask(ivan, "/channels")).text
            users = (await sim.ask(admin, "/users")).text
            assert "Иван @ivan (300) — allowed" in users and "Админ @boss (100) — admin" in users
            await sim.ask(admin, "/deny 200")
            assert "allowlist" in (await sim.ask(anna, "/channels")).text   # denied beats setting
            assert "Admins cannot be denied" in (await sim.ask(admin, "/deny 100")).text
            assert "No one called @nobody" in (await sim.ask(admin, "/allow @nobody")).text

    sim.run(body)


def test_admins_only_and_open_modes(sim):
    admin, anna, ivan = people(sim)

    async def body():
        async with sim.running(components=default_components,
                               settings=settings(sim, access="admins")) as (_app, _):
            assert "for its admins only" in (await sim.ask(anna, "/channels")).text
            assert "Start with /channels" in (await sim.ask(admin, "/start")).text
        async with sim.running(components=default_components,
                               settings=settings(sim, access="open")) as (_open_app, _):
            assert "Start with /channels" in (await sim.ask(ivan, "/start")).text

    sim.run(body)


def test_subscribe_channels_and_the_undo_button(sim):
    _admin, anna, _ivan = people(sim)

    async def body():
        legion(sim)
        s = settings(sim)
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            await watched(sim, rt)
            listing = await sim.ask(anna, "/channels")
            assert "Легион" in listing.text and "no posts yet" in listing.text
            assert b"sub:777" in listing.buttons
            done = await sim.ask(anna, "/subscribe @LegionOfFreedom")
            assert done.text.startswith("Subscribed to Легион @legionoffreedom")
            assert [c.channel_id for c in await subscribed_channels(rt.db, ALLOWED)] == [777]
            again = await sim.ask(anna, "/subscribe legionoffreedom")
            assert again.text.startswith("Already subscribed")
            # the Undo button of the first answer
            before = len(sim.texts(ALLOWED))
            sim.world.press(anna, b"unsub:777")
            await sim.until(lambda: len(sim.texts(ALLOWED)) > before)
            assert sim.texts(ALLOWED)[-1].startswith("Unsubscribed from Легион")
            assert await subscribed_channels(rt.db, ALLOWED) == []
            unknown = await sim.ask(anna, "/subscribe rybar")
            assert "rybar is not a watched channel" in unknown.text and \
                "/watch rybar" in unknown.text
            usage = await sim.ask(anna, "/subscribe")
            assert "/subscribe needs CHANNEL" in usage.text
            assert "Usage: /subscribe CHANNEL" in usage.text

    sim.run(body)


def test_group_chat_subscribes_for_the_desk(sim):
    _admin, anna, ivan = people(sim)
    desk = sim.world.add_group("OSINT desk", members=[anna, ivan])

    async def body():
        legion(sim)
        s = settings(sim)
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            await watched(sim, rt)
            chat_id = -desk.id
            answer = await sim.ask(anna, "/subscribe legionoffreedom", group=desk, chat_id=chat_id)
            assert answer.text.startswith("Subscribed to")
            assert [c.channel_id for c in await subscribed_channels(rt.db, chat_id)] == [777]
            stored = await get_chat(rt.db, chat_id)
            assert stored and stored.kind == "group" and stored.title == "OSINT desk"
            # the group's membership does not let a stranger in
            refused = await sim.ask(ivan, "/unsubscribe legionoffreedom", group=desk,
                                chat_id=chat_id)
            assert "allowlist" in refused.text

    sim.run(body)


def test_timezone_refuses_unknown_zones_and_mute_shows_its_end_in_that_zone(sim):
    _admin, anna, _ivan = people(sim)

    async def body():
        async with sim.running(components=default_components, settings=settings(sim)) as (_app, rt):
            assert "Unknown time zone 'Mars/Base'" in \
                (await sim.ask(anna, "/timezone Mars/Base")).text
            assert "Europe/Moscow" in (await sim.ask(anna, "/timezone Europe/Moscow")).text
            assert (await get_chat(rt.db, ALLOWED)).timezone == "Europe/Moscow"
            muted = await sim.ask(anna, "/mute 2h")
            # 05:00 UTC + 2 h = 10:00 in Moscow
            assert "12 Mar 2024 10:00 MSK" in muted.text
            chat = await get_chat(rt.db, ALLOWED)
            assert chat.muted(sim.now()) and not chat.muted(sim.now() + timedelta(hours=3))
            assert "not a duration" in (await sim.ask(anna, "/mute soon")).text
            await sim.ask(anna, "/unmute")
            assert not (await get_chat(rt.db, ALLOWED)).muted(sim.now())

    sim.run(body)


def test_mute_until_unmute_is_shown_in_any_time_zone_and_durations_are_capped(sim):
    """Found by the soak (seed 16): /alerts of a chat muted until /unmute, in Moscow
    time, failed on converting year 9999 to local time."""
    _admin, anna, _ivan = people(sim)

    async def body():
        async with sim.running(components=default_components, settings=settings(sim)):
            await sim.ask(anna, "/timezone Europe/Moscow")
            assert (await sim.ask(anna, "/mute")).text == "Alerts muted until you send /unmute."
            shown = await sim.ask(anna, "/alerts")
            assert "Muted until you send /unmute" in shown.text
            too_long = await sim.ask(anna, "/mute 99999999d")
            assert "at most 365 days" in too_long.text

    sim.run(body)


def test_html_in_names_is_escaped(sim):
    admin, _anna, _ivan = people(sim)
    sim.world.add_user("<b>Eve</b> & co", "eve", id=400)

    async def body():
        s = settings(sim, access="open")
        async with sim.running(components=default_components, settings=s) as (_app, _):
            await sim.ask(sim.world.person(400), "/start")
            users = (await sim.ask(admin, "/users")).text
            # shown literally, not as bold: the name was escaped before the HTML was parsed
            assert "<b>Eve</b> & co @eve (400)" in users

    sim.run(body)


def test_a_user_who_blocked_the_bot_gets_nothing_more(sim):
    _admin, anna, _ivan = people(sim)

    async def pending(db):
        return await outbox.pending_count(db)

    async def body():
        async with sim.running(components=default_components, settings=settings(sim)) as (_app, rt):
            await sim.ask(anna, "/start")
            sent_before = len(sim.texts(ALLOWED))
            sim.world.user_writes(anna, "/help")
            # the answer waits in the outbox for the 1 s per-chat pause; she blocks the bot
            await until(lambda: pending(rt.db), timeout=60, step=0.5)
            sim.world.block_bot(anna)

            async def blocked():
                chat = await get_chat(rt.db, ALLOWED)
                return chat is not None and chat.blocked_at is not None

            await until(blocked, timeout=60, step=0.5)
            await outbox.put(rt.db, outbox.OutMessage(ALLOWED, "notice", "more"), sim.now())
            rt.outbox_changed.notify()
            await until(lambda: no_pending(rt.db), timeout=60, step=0.5)
            assert len(sim.texts(ALLOWED)) == sent_before
            # only one send was tried after the block: the notice was dropped without trying
            tries = [r for r in sim.world.requests_of("messages.sendMessage", role="bot")
                     if getattr(r.peer, "user_id", None) == ALLOWED]
            assert len(tries) == sent_before + 1

    sim.run(body)


async def no_pending(db):
    return await outbox.pending_count(db) == 0

