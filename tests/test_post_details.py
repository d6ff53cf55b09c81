"""Issue 13, item 3: the fields researchers cite (restrictions, no-forwards, pinned, link
preview, poll, place, contact, dice, topic, bot, sender) are captured from Telegram,
kept beside the posts and exported; service messages are kept in their own table."""

from __future__ import annotations

import json
from datetime import timedelta

from capturekit import rows, until

from bot.sim.vclock import sleep_until
from bot.watcher.component import Watcher
from storage.models import Poll, PollAnswer, Restriction, WebPage

POLL = Poll("Где прорыв?", (PollAnswer("Тёткино", 120), PollAnswer("Козинка", 80)),
            closed=True)


def _world(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    w.post(legion, "опрос", poll=POLL, push=False)
    w.post(legion, "смотрите https://example.org/raid",
           webpage=WebPage("https://example.org/raid", "Example", "Рейд", "Описание"),
           push=False)
    w.post(legion, "закрыто", restrictions=(Restriction("android", "porn", "Недоступно"),),
           noforwards=True, push=False)
    w.post(legion, "обычный пост", push=False)
    return legion


def test_details_are_captured_and_kept_beside_the_posts(sim):
    w = sim.world
    legion = _world(sim)
    watcher = Watcher()

    async def body():
        async with sim.running(components=lambda: [watcher],
                               settings=sim.settings(recheck_interval=timedelta(minutes=5),
                                                     reconcile_interval=timedelta(minutes=5))
                               ) as (_app, rt):
            await until(lambda: _count(rt.db, 4), timeout=300, step=1.0)
            w.service(legion, "pin_message", message_id=2)
            w.service(legion, "edit_title", title="Легион Свобода")
            await sleep_until(sim.start + timedelta(minutes=20))
            details = {r["message_id"]: r for r in await rt.db.fetchall(
                "SELECT p.message_id, d.* FROM post_details d JOIN posts p ON p.id = d.post_id")}
            service = [tuple(r) for r in await rt.db.fetchall(
                "SELECT message_id, action, detail FROM service_messages ORDER BY message_id")]
            stored = await rows(rt.db, legion.id)
        return details, service, stored

    details, service, stored = sim.run(body)
    assert set(stored) == {1, 2, 3, 4}                  # service messages are not posts
    assert set(details) == {1, 2, 3}                    # the plain post has no row
    poll = json.loads(details[1]["poll"])
    assert poll == {"question": "Где прорыв?", "answers": [
        {"text": "Тёткино", "voters": 120}, {"text": "Козинка", "voters": 80}],
        "total_voters": 200, "closed": True, "quiz": False}
    assert (details[2]["webpage_url"], details[2]["webpage_site"], details[2]["webpage_title"],
            details[2]["webpage_description"]) == ("https://example.org/raid", "Example",
                                                   "Рейд", "Описание")
    assert details[2]["pinned"] == 1                    # pinned after capture: re-read
    assert json.loads(details[3]["restriction_reason"]) == [
        {"platform": "android", "reason": "porn", "text": "Недоступно"}]
    assert details[3]["noforwards"] == 1 and details[3]["pinned"] == 0
    assert service == [(5, "pin_message", '{"message_id":2}'),
                       (6, "edit_title", '{"title":"Легион Свобода"}')]


async def _count(db, n: int) -> bool:
    row = await db.fetchone("SELECT count(*) FROM posts")
    return bool(row and row[0] >= n)


def test_export_writes_the_details_and_the_service_messages(sim, capsysbinary):
    from bot.cli import main

    w = sim.world
    legion = _world(sim)
    w.service(legion, "edit_title", title="Легион", push=False)
    watcher = Watcher()
    settings = sim.settings()

    async def body():
        async with sim.running(components=lambda: [watcher], settings=settings) as (_app, rt):
            await until(lambda: _count(rt.db, 4), timeout=300, step=1.0)
            await sleep_until(sim.start + timedelta(minutes=2))

    sim.run(body)
    db = str(settings.db_path)
    assert main(["export", "--format", "jsonl", "--db", db]) == 0
    out, _ = capsysbinary.readouterr()
    got = {r["message_id"]: r for r in map(json.loads, out.decode().splitlines())}
    assert got[1]["poll"]["answers"][0] == {"text": "Тёткино", "voters": 120}
    assert got[2]["webpage_title"] == "Рейд" and got[2]["poll"] is None
    assert got[3]["restriction_reason"][0]["reason"] == "porn" and got[3]["noforwards"] == 1
    assert got[4]["restriction_reason"] == [] and got[4]["noforwards"] == 0
    assert main(["export", "--service", "--format", "jsonl", "--db", db]) == 0
    out, _ = capsysbinary.readouterr()
    service = [json.loads(line) for line in out.decode().splitlines()]
    assert [(s["message_id"], s["action"], s["detail"], s["url"]) for s in service] == [
        (5, "edit_title", {"title": "Легион"}, "https://t.me/legionoffreedom/5")]


def test_a_details_row_is_cleared_when_a_later_read_shows_none(tmp_path):
    import asyncio
    from datetime import UTC, datetime

    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.models import CapturePath, Channel, Post, PostDetails

    date = datetime(2024, 3, 12, tzinfo=UTC)

    async def main():
        db = await open_database(tmp_path / "t.db")
        try:
            for details in (PostDetails(pinned=True), PostDetails(), None):
                posts = [Post(1, 5, date, "x", details=details),
                         Post(1, 6, date, "y", details=PostDetails() if details else None)]
                await save_batch(db, Batch(1, Channel(1, "c"), posts), CapturePath.CATCH_UP,
                                 date + timedelta(hours=1))
                yield [tuple(r) for r in await db.fetchall(
                    "SELECT p.message_id, d.pinned FROM post_details d "
                    "JOIN posts p ON p.id = d.post_id")]
        finally:
            await db.close()

    async def collect():
        return [x async for x in main()]

    # pinned; unpinned (the row cleared, kept); an import-like read (no details) changes
    # nothing; the post that never had any never gets a row
    assert asyncio.run(collect()) == [[(5, 1)], [(5, 0)], [(5, 0)]]
