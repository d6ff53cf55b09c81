"""Issue 13, item 1: comments of channels that have them on are captured like posts
(versions, tombstones), caught up after downtime from each thread's cursor, in bounded
passes, and exported."""

from __future__ import annotations

import json
from datetime import timedelta

from capturekit import until
from simkit import T0

from bot.sim.vclock import sleep_until
from bot.watcher.component import Watcher
from storage.comments import comments_of_post


def _world(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    w.add_discussion(legion, "Легион: обсуждение")
    quiet = w.add_channel("rybar", "Рыбарь")
    w.add_discussion(quiet)
    alice = w.add_user("Алиса", "alice_tg", last_name="К.")
    bob = w.add_user("Боб")
    return legion, quiet, alice, bob


def _settings(sim, **kw):
    return sim.settings(comments=("legionoffreedom",), recheck_interval=timedelta(minutes=10),
                        reconcile_interval=timedelta(minutes=5), **kw)


def test_comments_are_captured_edited_and_deleted_across_downtime(sim):
    w = sim.world
    legion, quiet, alice, bob = _world(sim)
    post = w.post(legion, "Бойцы вошли в Тёткино", push=False)
    first = w.comment(legion, post.id, "Слышу взрывы в Тёткино", from_id=alice.id, push=False)
    w.comment(legion, post.id, "Где именно?", from_id=bob.id, reply_to=first.id, push=False)
    other = w.post(quiet, "пост без захвата комментариев", push=False)
    w.comment(quiet, other.id, "не нужен", from_id=bob.id, push=False)
    group = w.channel(legion.discussion)
    settings = _settings(sim)

    async def body():
        async with sim.running(components=lambda: [Watcher()], settings=settings) as (_a, rt):
            await until(lambda: _n(rt.db, 2), timeout=900, step=5.0)
            before = await comments_of_post(rt.db, legion.id, post.id)
        # tgmon is down: comments are edited, deleted and added meanwhile
        await sleep_until(T0 + timedelta(hours=1))
        w.edit(group, first.id, "Слышу взрывы в Тёткино, уже тихо")
        third = w.comment(legion, post.id, "Пропал свет", from_id=bob.id)
        w.delete(group, [third.id - 1])      # the reply of Боб
        for n in range(3):
            w.comment(legion, post.id, f"комментарий {n}", from_id=alice.id)
        async with sim.running(components=lambda: [Watcher()], settings=settings) as (_a, rt):
            await until(lambda: _n(rt.db, 6), timeout=900, step=5.0)
            await sleep_until(T0 + timedelta(hours=1, minutes=30))
            after = await comments_of_post(rt.db, legion.id, post.id)
            versions = [tuple(r) for r in await rt.db.fetchall(
                "SELECT v.version, v.text FROM comment_versions v JOIN comments c "
                "ON c.id = v.comment_row WHERE c.comment_id = ? ORDER BY v.version",
                (first.id,))]
            others = await comments_of_post(rt.db, quiet.id, other.id)
        return before, after, versions, others

    before, after, versions, others = sim.run(body)
    assert [(c["text"], c["from_name"], c["from_username"], c["reply_to"]) for c in before] == [
        ("Слышу взрывы в Тёткино", "Алиса К.", "alice_tg", None),
        ("Где именно?", "Боб", None, first.id)]
    by_text = {c["text"]: c for c in after}
    assert set(by_text) == {"Слышу взрывы в Тёткино, уже тихо", "Где именно?", "Пропал свет",
                            "комментарий 0", "комментарий 1", "комментарий 2"}
    assert by_text["Где именно?"]["deleted_at"] is not None      # a tombstone
    assert all(c["deleted_at"] is None for t, c in by_text.items() if t != "Где именно?")
    assert versions == [(1, "Слышу взрывы в Тёткино"), (2, "Слышу взрывы в Тёткино, уже тихо")]
    assert others == []                                          # comments off there


async def _n(db, n: int) -> bool:
    row = await db.fetchone("SELECT count(*) FROM comments")
    return bool(row and row[0] >= n)


def test_a_large_thread_is_read_in_bounded_passes(sim, monkeypatch):
    import bot.watcher.comments as comments

    monkeypatch.setattr(comments, "PASS_BUDGET", 150)
    w = sim.world
    legion, _quiet, alice, _bob = _world(sim)
    post = w.post(legion, "большая ветка", push=False)
    for n in range(400):
        w.comment(legion, post.id, f"комментарий {n}", from_id=alice.id, push=False)
    settings = _settings(sim)

    async def body():
        async with sim.running(components=lambda: [Watcher()], settings=settings) as (_a, rt):
            await until(lambda: _n(rt.db, 400), timeout=3600, step=10.0)
            got = await comments_of_post(rt.db, legion.id, post.id)
            thread = await rt.db.fetchone("SELECT read_id, replies FROM comment_threads")
        return got, thread

    got, thread = sim.run(body)
    assert [c["text"] for c in got] == [f"комментарий {n}" for n in range(400)]
    assert thread["replies"] == 400 and thread["read_id"] == got[-1]["comment_id"]
    asked = sim.world.requests_of("messages.getReplies", role="user")
    assert max(r.limit for r in asked) <= 100
    # passes of at most 150 comments (100 + 50), each resuming from the last cursor
    starts = [r.min_id for r in asked]
    first = got[0]["comment_id"] - 1
    assert [(m - first, r.limit) for m, r in zip(starts, asked, strict=True)][:6] == [
        (-first, 100), (100, 50), (150, 100), (250, 50), (300, 100), (400, 50)]


def test_export_comments_writes_the_documented_columns(sim, capsysbinary):
    from bot.cli import main

    w = sim.world
    legion, _quiet, alice, _bob = _world(sim)
    post = w.post(legion, "пост", push=False)
    c = w.comment(legion, post.id, "Тёткино, «кавычки», запятые", from_id=alice.id, push=False)
    settings = _settings(sim)

    async def body():
        async with sim.running(components=lambda: [Watcher()], settings=settings) as (_a, rt):
            await until(lambda: _n(rt.db, 1), timeout=900, step=5.0)

    sim.run(body)
    assert main(["export", "--comments", "--format", "jsonl", "--db",
                 str(settings.db_path)]) == 0
    out, _ = capsysbinary.readouterr()
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert list(rows[0]) == ["channel", "channel_id", "post_id", "comment_id", "date", "from_id",
                             "from_name", "text", "reply_to", "edit_date", "deleted_at", "url"]
    assert rows == [{
        "channel": "legionoffreedom", "channel_id": legion.id, "post_id": post.id,
        "comment_id": c.id, "date": c.date.strftime("%Y-%m-%dT%H:%M:%SZ"), "from_id": alice.id,
        "from_name": "Алиса К.", "text": "Тёткино, «кавычки», запятые", "reply_to": None,
        "edit_date": None, "deleted_at": None,
        "url": f"https://t.me/legionoffreedom/{post.id}?comment={c.id}"}]


def test_admins_turn_comments_on_and_off_with_watch(sim):
    from bot.app import default_components

    w = sim.world
    legion, _quiet, alice, _bob = _world(sim)
    admin = w.add_user("Ольга", "olga_desk", id=100)
    member = w.add_user("Марк", "mark_osint", id=200)
    post = w.post(legion, "пост", push=False)
    w.comment(legion, post.id, "первый", from_id=alice.id, push=False)
    settings = sim.settings(admins=frozenset({100}), allowlist=frozenset({200}),
                            recheck_interval=timedelta(minutes=10),
                            reconcile_interval=timedelta(minutes=5))

    async def body():
        async with sim.running(default_components, settings=settings) as (_a, rt):
            refused = await sim.ask(member, "/watch legionoffreedom comments", timeout=120)
            await sleep_until(T0 + timedelta(minutes=20))
            none_yet = await _n(rt.db, 1)
            on = await sim.ask(admin, "/watch legionoffreedom comments", timeout=120)
            await until(lambda: _n(rt.db, 1), timeout=900, step=5.0)
            bad = await sim.ask(admin, "/watch legionoffreedom everything", timeout=120)
            off = await sim.ask(admin, "/watch @legionoffreedom nocomments", timeout=120)
            w.comment(legion, post.id, "второй", from_id=alice.id)
            await sleep_until(T0 + timedelta(hours=1, minutes=30))
            got = await comments_of_post(rt.db, legion.id, post.id)
        return refused, none_yet, on, bad, off, got

    refused, none_yet, on, bad, off, got = sim.run(body)
    assert "admin" in refused.text.lower()
    assert not none_yet                                   # off by default
    assert on.text.startswith("Comments of @legionoffreedom are captured")
    assert "is not comments or nocomments" in bad.text
    assert off.text.startswith("Comments of @legionoffreedom are no longer captured")
    assert [c["text"] for c in got] == ["первый"]          # nothing after nocomments


def test_the_digest_names_the_most_commented_posts(tmp_path):
    import asyncio
    from datetime import UTC, datetime

    from bot.digest.build import build_digest
    from bot.digest.render_telegram import render_telegram
    from bot.digest.render_text import render_text
    from storage.capture import Batch, save_batch
    from storage.db import open_database
    from storage.digest_queries import Period, gather_material
    from storage.models import CapturePath, Channel, Post

    day = datetime(2024, 3, 12, tzinfo=UTC)
    posts = [Post(77, n, day + timedelta(hours=n), f"пост {n}", views=1000 * n, replies=r)
             for n, r in ((1, 0), (2, 350), (3, 12), (4, 90), (5, None))]

    async def main():
        db = await open_database(tmp_path / "log.db")
        try:
            await save_batch(db, Batch(77, Channel(77, "legionoffreedom"), posts),
                             CapturePath.CATCH_UP, day + timedelta(hours=20))
            material = await gather_material(db, Period(day, day + timedelta(days=1)))
        finally:
            await db.close()
        return build_digest(material)

    digest = asyncio.run(main())
    assert [p.message_id for p in digest.most_commented] == [2, 4, 3]
    text = render_text(digest, UTC)
    section = text.split("== Most commented ==")[1].split("==")[0]
    lines = [line for line in section.splitlines() if line.strip()]
    assert "пост 2" in lines[0] and "350 comments" in lines[0], lines
    assert "пост 4" in lines[1] and "90 comments" in lines[1]
    assert render_telegram(digest, UTC)            # renders within Telegram's limits


def test_in_comments_rules_alert_on_captured_comments_and_only_they(sim):
    from bot.app import default_components

    w = sim.world
    legion, _quiet, alice, _bob = _world(sim)
    reader = w.add_user("Марк", "mark_osint", id=200)
    other = w.add_user("Ира", "ira_desk", id=201)
    post = w.post(legion, "Новости", push=False)
    settings = _settings(sim, allowlist=frozenset({200, 201}))

    async def body():
        async with sim.running(default_components, settings=settings) as (_a, _rt):
            await sim.ask(reader, "/start", timeout=120)
            await sim.ask(other, "/start", timeout=120)
            added = await sim.ask(reader, "/alert Тёткино in:comments", timeout=120)
            await sim.ask(other, "/alert Тёткино", timeout=120)
            before_reader = len(sim.texts(reader.id))
            before_other = len(sim.texts(other.id))
            w.comment(legion, post.id, "В Тёткино слышны взрывы", from_id=alice.id)
            w.comment(legion, post.id, "тихо", from_id=alice.id)
            await until(lambda: len(sim.texts(reader.id)) > before_reader, timeout=1800,
                        step=10.0)
            await sleep_until(sim.world.now() + timedelta(minutes=30))
            return added, sim.texts(reader.id)[before_reader:], \
                sim.texts(other.id)[before_other:]

    added, got, others = sim.run(body)
    assert "in:comments" in added.text
    assert len(got) == 1, got
    alert = got[0]
    assert "Comment" in alert and "@legionoffreedom" in alert and "Алиса К." in alert
    assert "В Тёткино слышны взрывы" in alert and "Тёткино; in:comments" in alert
    assert f"https://t.me/legionoffreedom/{post.id}?comment=" in alert
    assert others == []                         # a rule without in:comments: posts only
