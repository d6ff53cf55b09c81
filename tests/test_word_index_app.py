"""The running app keeps the word index up to date: posts the watcher captures (new and
edited) are filed in the background, and /test answers from it as a full scan would."""

from __future__ import annotations

import asyncio

from alertkit import people, settings
from capturekit import eventually, resolved

from bot.app import default_components


async def indexed(db, message_id: int, version: int, timeout: float = 120) -> None:
    """Wait (virtual time) until the post is stored at ``version`` and nothing waits for
    the indexer, which looks every few seconds."""
    for _ in range(int(timeout)):
        row = await db.fetchone("SELECT version FROM posts WHERE message_id = ?", (message_id,))
        left = (await db.fetchone("SELECT count(*) FROM words_pending"))[0]
        if row is not None and row[0] == version and left == 0:
            return
        await asyncio.sleep(1)
    raise AssertionError(f"post {message_id} v{version} not indexed in {timeout} s")


def test_captured_and_edited_posts_are_indexed_and_tested(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        app = sim.app(components=default_components, settings=settings(sim))
        rt = await app.start()
        await eventually(lambda: resolved(rt.db, "legionoffreedom"))
        first = w.post(legion, "Бои в районе Тёткино, есть раненые")
        second = w.post(legion, "Обстрел Белгорода")
        await indexed(rt.db, second.id, 1)
        assert (await rt.db.fetchone("SELECT version FROM word_index_state"))[0] is not None
        assert "matched 1 of 2 stored posts" in (await sim.ask(anna, "/test Tyotkino")).text
        w.edit(legion, first.id, "Бои в районе Глушково")
        await indexed(rt.db, first.id, 2)
        assert "matched 0 of 2 stored posts" in (await sim.ask(anna, "/test Tyotkino")).text
        assert "matched 1 of 2 stored posts" in (await sim.ask(anna, "/test Glushkovo")).text
        await app.stop()

    sim.run(body)
