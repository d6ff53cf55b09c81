"""Outbox messages that edit or answer an earlier message, through the sender and the
simulated Telegram."""

from __future__ import annotations

import dataclasses

from alertkit import ANNA, people, settings

from bot.delivery.sender import Sender
from storage import outbox


async def put(db, now, msg):
    async with db.transaction() as conn:
        await outbox.enqueue(conn, msg, now)
    row = await db.fetchone("SELECT max(id) FROM outbox")
    return row[0]


async def status(db, item_id):
    row = await db.fetchone("SELECT status, message_id, last_error FROM outbox WHERE id = ?",
                            (item_id,))
    return tuple(row)


def test_edits_and_replies_name_the_sent_message_and_wait_for_it(sim):
    _admin, anna, _ivan, _olga = people(sim)
    sender = Sender()

    async def body():
        async with sim.running(components=lambda: [sender], settings=settings(sim)) as (_app, rt):
            sim.world.user_writes(anna, "/start")           # the bot learns who she is
            await sim.until(lambda: sim.world.received_by_bot(ANNA))
            now = sim.now()
            base = outbox.OutMessage(ANNA, "alert", "<b>first</b> version")
            first = await put(rt.db, now, base)
            # queued behind it: an edit of it and an answer to it
            edit = await put(rt.db, now, dataclasses.replace(base, html="<b>second</b> version",
                                                             edit_of=first))
            answer = await put(rt.db, now, dataclasses.replace(base, html="about it",
                                                               reply_to_of=first))
            rt.outbox_changed.notify()
            await sim.until(lambda: len(sim.world.sent_by_bot(ANNA)) == 3)
            original, edited, reply = sim.world.sent_by_bot(ANNA)
            assert edited.id == original.id and edited.edited and edited.text == "second version"
            assert reply.reply_to == original.id
            assert (await status(rt.db, edit))[:2] == ("sent", original.id)
            assert (await status(rt.db, answer))[0] == "sent"
            # an edit of a message that was never sent is given up, without asking Telegram
            await rt.db.execute("UPDATE outbox SET status = 'failed', message_id = NULL "
                                "WHERE id = ?", (first,))
            orphan = await put(rt.db, sim.now(), dataclasses.replace(base, html="x", edit_of=first))
            rt.outbox_changed.notify()

            async def settled():
                return (await status(rt.db, orphan))[0] != "pending"

            await sim.until(settled, timeout=10, step=0.2)
            assert await status(rt.db, orphan) == ("failed", None,
                                                   "the message it edits was not sent")
            assert len(sim.world.requests_of("messages.editMessage", role="bot")) == 1

    sim.run(body)
