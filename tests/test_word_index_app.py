"""The running app keeps the word index up to date: posts the watcher captures (new and
edited) are filed in the background, and /test answers from it as a full scan would."""

from __future__ import annotations

from alertkit import people, settings
from capturekit import resolved
from simkit import until

from bot.app import default_components


async def indexed(db, message_id: int, version: int) -> None:
    """Wait (virtual time) until the post is stored at ``version`` and nothing waits for
    the indexer, which looks every few seconds."""
    async def done() -> bool:
        row = await db.fetchone("SELECT version FROM posts WHERE message_id = ?", (message_id,))
        left = (await db.fetchone("SELECT count(*) FROM words_pending"))[0]
        return row is not None and row[0] == version and left == 0
    await until(done, timeout=120, step=1.0)


def test_captured_and_edited_posts_are_indexed_and_tested(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    _admin, anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(default_components, settings(sim)) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            first = w.post(legion, "Бои в районе Тёткино, есть раненые")
            second = w.post(legion, "Обстрел Белгорода")
            await indexed(rt.db, second.id, 1)
            assert (await rt.db.fetchone("SELECT version FROM word_index_state"))[0] is not None
            assert "matched 1 of 2 stored posts" in (await sim.ask(anna, "/test Tyotkino")).text
            w.edit(legion, first.id, "Бои в районе Глушково")
            await indexed(rt.db, first.id, 2)
            assert "matched 0 of 2 stored posts" in (await sim.ask(anna, "/test Tyotkino")).text
            assert "matched 1 of 2 stored posts" in (await sim.ask(anna, "/test Glushkovo")).text

    sim.run(body)
