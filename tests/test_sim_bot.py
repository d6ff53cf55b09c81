"""The bot client against the simulated Telegram: people writing, buttons, files, and
Telegram's limits on what a bot may send."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from simkit import append_to
from telethon import Button, errors, events


def test_person_writes_bot_replies_with_html_button_and_answer(sim):
    alice = sim.world.add_user("Alice", "alice")
    pressed = []

    async def body():
        bot = await sim.bot()
        bot.parse_mode = "html"

        @bot.on(events.NewMessage(pattern=r"^/start$"))
        async def start(event):
            await event.respond("<b>Привет</b>, &lt;Alice&gt; 😀",
                                buttons=[Button.inline("Отписаться", b"unsub:1")])

        @bot.on(events.CallbackQuery(data=b"unsub:1"))
        async def unsub(event):
            pressed.append(event.sender_id)
            await event.answer("Готово")

        sim.world.user_writes(alice, "/start")
        await sim.until(lambda: sim.world.sent_by_bot(alice.id))
        sim.world.press(alice, "unsub:1")
        await sim.until(lambda: sim.world.callback_answers)

    sim.run(body)
    incoming, reply = sim.world.chat_log
    assert (incoming.out, incoming.text, incoming.entities[0].type) == (False, "/start",
                                                                         "bot_command")
    assert reply.out and reply.chat_id == alice.id
    assert reply.text == "Привет, <Alice> 😀"
    assert [(e.type, e.offset, e.length) for e in reply.entities] == [("bold", 0, 6)]
    assert reply.buttons == (b"unsub:1",)
    assert pressed == [alice.id]
    assert sim.world.callback_answers[0].message == "Готово"


def test_message_too_long_counts_utf16_after_html(sim):
    alice = sim.world.add_user("Alice")

    async def body():
        bot = await sim.bot(flood_sleep_threshold=5)
        bot.parse_mode = "html"
        sim.world.user_writes(alice, "hi")
        await asyncio.sleep(1)
        await bot.send_message(alice.id, "<b>" + "я" * 4096 + "</b>")   # tags do not count
        await asyncio.sleep(1)
        with pytest.raises(errors.MessageTooLongError):
            await bot.send_message(alice.id, "я" * 4097)
        with pytest.raises(errors.MessageTooLongError):
            await bot.send_message(alice.id, "😀" * 2049)     # 2049 chars, 4098 UTF-16 units
        await asyncio.sleep(1)
        await bot.send_message(alice.id, "😀" * 2048)
        await asyncio.sleep(1)
        caption = io.BytesIO(b"x")
        caption.name = "a.txt"
        with pytest.raises(errors.MediaCaptionTooLongError):
            await bot.send_file(alice.id, caption, caption="c" * 1025)

    sim.run(body)
    assert [len(m.text) for m in sim.world.sent_by_bot()] == [4096, 2048]


def test_blocked_user_and_unblocking_by_writing(sim):
    bob = sim.world.add_user("Bob")

    async def body():
        bot = await sim.bot()
        sim.world.user_writes(bob, "/start")
        await asyncio.sleep(1)
        sim.world.block_bot(bob)
        with pytest.raises(errors.UserIsBlockedError):
            await bot.send_message(bob.id, "digest")
        sim.world.user_writes(bob, "/start")               # writing again unblocks
        await asyncio.sleep(1)
        await bot.send_message(bob.id, "welcome back")

    sim.run(body)
    assert [m.text for m in sim.world.sent_by_bot(bob.id)] == ["welcome back"]


def test_one_message_per_second_per_chat(sim):
    alice = sim.world.add_user("Alice")

    async def body():
        bot = await sim.bot(flood_sleep_threshold=0)
        sim.world.user_writes(alice, "/start")
        await asyncio.sleep(1)
        await bot.send_message(alice.id, "one")
        with pytest.raises(errors.FloodWaitError) as raised:
            await bot.send_message(alice.id, "two")
        await asyncio.sleep(raised.value.seconds)
        await bot.send_message(alice.id, "two")
        return raised.value.seconds

    assert sim.run(body) == 1
    sent = sim.world.sent_by_bot(alice.id)
    assert [m.text for m in sent] == ["one", "two"]
    assert sent[1].at - sent[0].at >= timedelta(seconds=1)


def test_thirty_messages_per_second_overall(sim):
    people = [sim.world.add_user(f"P{i}") for i in range(31)]

    async def body():
        bot = await sim.bot(flood_sleep_threshold=0)
        for p in people:
            sim.world.user_writes(p, "/start")
        await asyncio.sleep(2)
        for p in people[:30]:
            await bot.send_message(p.id, "alert")
        with pytest.raises(errors.FloodWaitError):
            await bot.send_message(people[30].id, "alert")

    sim.run(body)
    assert len(sim.world.sent_by_bot()) == 30


def test_twenty_messages_per_minute_per_group_and_flood_wait_honoured(sim):
    alice = sim.world.add_user("Alice")
    desk = sim.world.add_group("Monitoring desk", [alice])

    async def body():
        bot = await sim.bot(flood_sleep_threshold=60)     # Telethon sleeps and retries
        sim.world.user_writes(alice, "/digest", group=desk)
        sim.world.user_writes(alice, "no command: bots do not see this", group=desk)
        await asyncio.sleep(1)
        peer = await bot.get_input_entity(-desk.id)
        for i in range(21):
            await bot.send_message(peer, f"alert {i}")
            await asyncio.sleep(1)

    sim.run(body)
    sent = sim.world.sent_by_bot(-desk.id)
    assert len(sent) == 21
    assert sent[20].at - sent[0].at >= timedelta(seconds=60)   # the 21st waited for the window
    assert sent[19].at - sent[0].at < timedelta(seconds=60)


def test_files_and_photos_are_recorded_with_name_and_size(sim):
    alice = sim.world.add_user("Alice")
    png = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") \
        + (480).to_bytes(4, "big") + b"\0" * 100

    async def body():
        bot = await sim.bot()
        sim.world.user_writes(alice, "/export")
        await asyncio.sleep(1)
        csv = io.BytesIO(b"id,text\n1,hello\n")
        csv.name = "posts.csv"
        m = await bot.send_file(alice.id, csv, caption="Ваш экспорт", force_document=True)
        await asyncio.sleep(1)
        chart = io.BytesIO(png)
        chart.name = "chart.png"
        p = await bot.send_file(alice.id, chart)
        return m.file.name, p.photo.sizes[-1].w

    name, width = sim.run(body)
    assert (name, width) == ("posts.csv", 640)
    files = [m.file for m in sim.world.sent_by_bot(alice.id)]
    assert files == [{"name": "posts.csv", "size": 16}, {"name": "chart.png", "size": len(png)}]


def test_bot_recovers_messages_sent_while_pushes_were_dropped(sim):
    alice = sim.world.add_user("Alice")
    texts = []

    async def body():
        bot = await sim.bot()
        bot.add_event_handler(lambda e: append_to(texts, e.raw_text), events.NewMessage())
        sim.world.user_writes(alice, "/start")
        await sim.until(lambda: texts)
        sim.world.drop_updates(30, role="bot")
        sim.world.user_writes(alice, "/alert Тёткино")
        await asyncio.sleep(31)
        sim.world.user_writes(alice, "/list")             # account pts gap -> getDifference
        await sim.until(lambda: len(texts) == 3)

    sim.run(body)
    assert texts == ["/start", "/alert Тёткино", "/list"]
    assert sim.world.requests_of("updates.getDifference", role="bot")


def test_bot_cannot_use_a_hash_from_the_user_account(sim):
    alice = sim.world.add_user("Alice", "alice_h")

    async def body():
        user = await sim.user()
        bot = await sim.bot()
        from_user = await user.get_input_entity("alice_h")   # the user account's hash
        with pytest.raises(errors.PeerIdInvalidError):
            await bot.send_message(from_user, "hi")

    sim.run(body)
    assert alice.started_bot is False


def test_in_groups_the_bot_sees_only_commands(sim):
    alice = sim.world.add_user("Alice")
    desk = sim.world.add_group("Monitoring desk", [alice])
    texts = []

    async def body():
        bot = await sim.bot()
        bot.add_event_handler(lambda e: append_to(texts, (e.chat_id, e.sender_id, e.raw_text)),
                              events.NewMessage())
        sim.world.user_writes(alice, "кто-нибудь видел Тёткино?", group=desk)
        sim.world.user_writes(alice, "/digest", group=desk)
        await sim.until(lambda: texts)
        await asyncio.sleep(5)

    sim.run(body)
    assert texts == [(-desk.id, alice.id, "/digest")]
    assert [m.text for m in sim.world.received_by_bot()] == ["/digest"]
