"""The seam itself: the private Telethon parts it relies on, TL round trips of every
answer, requests it cannot answer, and a dropped connection."""

from __future__ import annotations

import asyncio
import io

import pytest
from simkit import append_to
from telethon import Button, TelegramClient, events
from telethon.network.mtprotosender import MTProtoSender
from telethon.sessions import SQLiteSession
from telethon.tl import functions, types

from bot.sim.model import MediaSpec
from bot.sim.rpc import HANDLERS
from bot.sim.tl import method_name, request_class, result_bytes


def test_private_telethon_attributes_the_simulation_relies_on():
    client = TelegramClient(None, 1, "0" * 32)
    assert isinstance(client._sender, MTProtoSender)
    assert isinstance(client._updates_queue, asyncio.Queue)
    assert callable(client._handle_auto_reconnect)
    assert isinstance(client._flood_waited_requests, dict)
    assert callable(MTProtoSender._store_own_updates)
    for name in ("connect", "disconnect", "send", "is_connected", "_transport_connected",
                 "_keepalive_ping"):
        assert callable(getattr(MTProtoSender, name)), name
    assert isinstance(MTProtoSender.disconnected, property)
    assert callable(SQLiteSession._cursor)
    import telethon
    assert telethon.__version__ == "1.45.0"


def test_method_names_map_both_ways():
    assert method_name(functions.messages.GetHistoryRequest) == "messages.getHistory"
    assert request_class("updates.getChannelDifference") is \
        functions.updates.GetChannelDifferenceRequest
    assert request_class("messages.noSuchThing") is None
    assert request_class("not a method") is None


def test_an_invalid_answer_fails_like_on_the_wire(sim, monkeypatch):
    """An answer Telegram could not send (a bot without bot_info_version) fails the
    request and is remembered, so a run cannot end green."""
    sim.allow_failures = True
    monkeypatch.setitem(HANDLERS, functions.help.GetNearestDcRequest,
                        (lambda call, req: types.User(id=5, bot=True), False))

    async def body():
        user = await sim.user()
        with pytest.raises(AssertionError, match="bot_info_version"):
            await user(functions.help.GetNearestDcRequest())

    sim.run(body)
    assert sim.world.failures and "GetNearestDcRequest" in sim.world.failures[0]
    with pytest.raises(TypeError):
        result_bytes(object())


def test_every_handler_answers_through_tl(sim):
    """A session that uses every request the simulation answers: each answer crossed
    as bytes and was parsed back by Telethon (read_result) without error."""
    legion = sim.world.add_channel("legionoffreedom")
    sim.world.add_discussion(legion)
    sim.world.post(legion, "old", push=False)
    photo = sim.world.post(legion, "photo", push=False,
                           media=MediaSpec("photo", width=640, height=480))
    alice = sim.world.add_user("Alice", "alice_a")
    sim.world.comment(legion, 1, "first", from_id=alice.id, push=False)
    desk = sim.world.add_group("desk", [alice])
    sim.world.user_logged_in = False
    sim.world.set_two_step_password("pw")

    async def body():
        user = await sim.user()
        await user.start(phone="+15550000001", code_callback=lambda: sim.world.login_code,
                         password="pw")
        await user.get_me()
        await user(functions.contacts.SearchRequest(q="legion", limit=5))
        peer = await user.get_input_entity("legionoffreedom")
        await user.get_entity("alice_a")
        await user(functions.channels.LeaveChannelRequest(peer))
        await user(functions.channels.JoinChannelRequest(peer))
        await user(functions.channels.GetFullChannelRequest(peer))
        await user.get_entity(peer)
        await user.get_dialogs()
        await user.get_messages(peer, limit=5)
        await user.get_messages(peer, ids=[1])
        await user(functions.messages.GetMessagesViewsRequest(peer, [1, 99], False))
        await user(functions.messages.GetDiscussionMessageRequest(peer, 1))
        await user(functions.messages.GetRepliesRequest(peer, 1, 0, None, 0, 10, 0, 0, 0))
        message = await user.get_messages(peer, ids=photo.id)
        # Telethon's own downloader (upload.getFile) gets the photo's bytes
        assert await user.download_media(message, bytes) == photo.file.read(0, photo.file.size)
        sim.world.drop_updates(5)
        sim.world.post(legion, "a")
        await asyncio.sleep(6)
        sim.world.post(legion, "b")
        await sim.until(lambda: sim.world.requests_of("updates.getChannelDifference"))
        await user.catch_up()

        bot = await sim.bot()
        bot.parse_mode = "html"
        await bot(functions.bots.SetBotCommandsRequest(types.BotCommandScopeDefault(), "",
                                                       [types.BotCommand("start", "begin")]))
        bot.add_event_handler(lambda e: e.answer("ok"), events.CallbackQuery())
        sim.world.user_writes(alice, "/start")
        sim.world.user_writes(alice, "/start", group=desk)
        await asyncio.sleep(1)
        async with bot.action(alice.id, "typing"):
            m = await bot.send_message(alice.id, "<b>x</b>", buttons=[Button.inline("k", b"k")])
        await bot.edit_message(alice.id, m.id, "y")
        await bot.get_messages(alice.id, ids=[m.id])
        sim.world.press(alice, "k")
        await sim.until(lambda: sim.world.callback_answers)
        big = io.BytesIO(b"\0" * (11 * 1024 * 1024))
        big.name = "big.bin"
        await bot.send_file(alice.id, big, force_document=True)    # upload.saveBigFilePart
        await asyncio.sleep(1)
        small = io.BytesIO(b"id\n1\n")
        small.name = "small.csv"
        await bot.send_file(alice.id, small)                       # upload.saveFilePart
        await bot.delete_messages(alice.id, [m.id])
        await user.log_out()
        sim.world.set_two_step_password(None)                     # auth.signIn answered
        again = await sim.user()
        await again.start(phone="+15550000001", code_callback=lambda: sim.world.login_code)

    sim.run(body)
    assert sim.world.failures == []
    answered = set(sim.world.answered)
    handled = {method_name(t) for t in HANDLERS}
    assert handled - answered == set()


def test_unknown_request_fails_loudly_naming_it(sim):
    sim.world.add_channel("legionoffreedom")
    sim.allow_failures = True

    async def body():
        user = await sim.user()
        peer = await user.get_input_entity("legionoffreedom")
        with pytest.raises(NotImplementedError, match=r"channels\.getParticipants"):
            await user(functions.channels.GetParticipantsRequest(
                peer, types.ChannelParticipantsRecent(), 0, 10, 0))

    sim.run(body)
    assert sim.world.failures and "GetParticipantsRequest" in sim.world.failures[0]


def test_disconnect_loses_pushes_queues_requests_and_reconnects(sim):
    legion = sim.world.add_channel("legionoffreedom")
    texts = []

    async def body():
        user = await sim.user()
        user.add_event_handler(lambda e: append_to(texts, e.raw_text), events.NewMessage())
        peer = await user.get_input_entity("legionoffreedom")
        sim.world.post(legion, "before")          # gives the client the channel's pts
        await sim.until(lambda: texts)
        self_requests = len(sim.world.requests_of("users.getUsers"))
        sim.world.disconnect(30)
        assert not user._sender._transport_connected() and user.is_connected()
        sim.world.post(legion, "during the outage")
        t0 = sim.world.now()
        history = await user.get_messages(peer, limit=1)   # waits for the reconnection
        waited = (sim.world.now() - t0).total_seconds()
        await asyncio.sleep(1)
        reconnect_calls = len(sim.world.requests_of("users.getUsers")) - self_requests
        sim.world.post(legion, "after")                   # the gap is noticed now
        await sim.until(lambda: len(texts) == 3)
        assert not user.disconnected.done()                # the client never gave up
        return history[0].text, waited, reconnect_calls

    text, waited, reconnect_calls = sim.run(body)
    assert text == "during the outage" and waited >= 30
    assert reconnect_calls == 1                            # _handle_auto_reconnect: get_me()
    assert texts == ["before", "during the outage", "after"]


def test_latency_delays_every_answer(sim):
    sim.world.add_channel("legionoffreedom")
    sim.world.latency = 0.25

    async def body():
        user = await sim.user()
        peer = await user.get_input_entity("legionoffreedom")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await user.get_messages(peer, limit=1)
        return loop.time() - t0

    assert sim.run(body) == pytest.approx(0.25)
