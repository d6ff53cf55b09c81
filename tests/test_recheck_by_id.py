"""Issue 10, item 4: answers to reads by id are matched by message id, never by
position. Telegram answers ``messageEmpty`` for an id without a post; another MTProto
server leaves such ids out (``world.omit_missing_messages``), and the re-check must
still record the deletion."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from capturekit import rows, until
from simkit import T0

from bot.sim.vclock import sleep_until
from bot.telegram.history import peer_of, read_by_ids
from bot.watcher.component import Watcher


def getmessages_asked(sim) -> list[list[int]]:
    """The ids of every channels.getMessages the watching account made, in order."""
    return [[i.id for i in r.id] for r in sim.world.requests_of("channels.getMessages",
                                                                 role="user")]


@pytest.mark.parametrize("omit", [False, True], ids=["messageEmpty", "left-out"])
def test_the_recheck_records_a_deletion_no_push_announced(sim, omit):
    w = sim.world
    w.omit_missing_messages = omit
    legion = w.add_channel("legionoffreedom", "Легион")
    before = [w.post(legion, f"пост {n}", push=False) for n in range(3)]
    settings = sim.settings(recheck_interval=timedelta(minutes=5))
    watcher = Watcher()

    async def body():
        async with sim.running(components=lambda: [watcher], settings=settings) as (_app, rt):
            await until(lambda: _stored(rt.db, legion.id, {p.id for p in before}), timeout=300,
                        step=1.0)
            w.drop_updates(60, role="user")             # the deletion is never pushed
            w.delete(legion, [before[1].id])
            w.edit(legion, before[2].id, "пост 2, исправлено")   # nor is the edit
            await sleep_until(T0 + timedelta(minutes=12))
            got = await rows(rt.db, legion.id)
        return got

    got = sim.run(body)
    assert got[before[1].id]["deleted_at"] is not None
    assert got[before[0].id]["deleted_at"] is None and got[before[2].id]["deleted_at"] is None
    assert got[before[2].id]["version"] == 2
    asked = getmessages_asked(sim)
    alone = [ids for ids in asked if ids == [before[1].id]]
    # a left-out id is asked about once more, on its own, before it counts as gone;
    # Telegram's messageEmpty needs no second question
    assert bool(alone) == omit


async def _stored(db, channel_id, ids) -> bool:
    return ids <= set(await rows(db, channel_id))


@pytest.mark.parametrize("omit", [False, True], ids=["messageEmpty", "left-out"])
def test_read_by_ids_matches_by_id_and_asks_left_out_ids_alone(sim, omit):
    w = sim.world
    w.omit_missing_messages = omit
    legion = w.add_channel("legionoffreedom", "Легион")
    posts = [w.post(legion, f"пост {n}", push=False) for n in range(5)]
    w.delete(legion, [posts[0].id, posts[3].id])

    async def body():
        client = await sim.user()
        entity = await client.get_input_entity("legionoffreedom")
        peer = peer_of(entity.channel_id, entity.access_hash)
        ids = [p.id for p in posts] + [999]
        steps = [s async for s in read_by_ids(client, peer, ids)]
        capped = [s async for s in read_by_ids(client, peer, ids, alone_max=1)]
        return steps, capped

    steps, capped = sim.run(body)
    found = {mid: m.message for s in steps for mid, m in s.found.items()}
    gone = sorted(mid for s in steps for mid in s.gone)
    assert found == {posts[1].id: "пост 1", posts[2].id: "пост 2", posts[4].id: "пост 4"}
    assert gone == [posts[0].id, posts[3].id, 999]
    assert all(s.channel is None or s.channel.username == "legionoffreedom" for s in steps)
    singles = [ids for ids in getmessages_asked(sim) if len(ids) == 1]
    if omit:
        # one alone-question per left-out id in the first read; one (the cap) in the second
        assert singles == [[posts[0].id], [posts[3].id], [999], [posts[0].id]]
        assert [mid for s in capped for mid in s.gone] == [posts[0].id]
        assert [mid for s in capped for mid in s.unsettled] == [posts[3].id, 999]
    else:
        assert singles == []
        assert sorted(mid for s in capped for mid in s.gone) == gone


def test_a_scenario_chooses_how_missing_ids_are_answered():
    from bot.sim.build import build_world
    from bot.sim.jsonread import ScenarioError
    from bot.sim.scenario import parse_scenario

    base = {"start": "2024-03-12T00:00:00Z", "end": "2024-03-12T01:00:00Z",
            "channels": [{"id": 10, "username": "legionoffreedom", "title": "Легион"}]}
    assert not build_world(parse_scenario(json.dumps(base))).omit_missing_messages
    left_out = dict(base, limits={"missing_messages": "omitted"})
    assert build_world(parse_scenario(json.dumps(left_out))).omit_missing_messages
    with pytest.raises(ScenarioError, match=r"\$\.limits\.missing_messages: expected one of "
                                            r"empty, omitted"):
        parse_scenario(json.dumps(dict(base, limits={"missing_messages": "none"})))
