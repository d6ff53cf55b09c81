"""/export through the simulated Telegram: the file that arrives is byte for byte what
``tgmon export`` writes, gzipped when large; who may ask; arguments."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta

from digest_helpers import (
    ADMIN,
    ANNA,
    IVAN,
    LEGION,
    RYBAR,
    hourly_posts,
    people,
    seed,
    settings,
    without_watcher,
)

import bot.commands.digests as digest_commands
from storage.db import open_database
from storage.export import ExportFilter, export_rows, make_writer
from storage.posts import mark_deleted

NOW = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)


def uploaded(sim, message) -> bytes:
    """The bytes of the file the bot sent with ``message`` (as the simulation got them)."""
    for req in sim.world.requests_of("messages.sendMedia", role="bot"):
        if req.message == message.text or req.message.startswith(message.text[:40]):
            f = req.media.file
            parts = sim.world.uploads[f.id]
            return b"".join(parts[i] for i in range(f.parts))
    raise AssertionError("no upload for that message")


async def cli_export(db_path, flt: ExportFilter, fmt: str) -> bytes:
    """What ``tgmon export`` writes for a filter (same writer, same defaults)."""
    db = await open_database(db_path)
    try:
        out = io.BytesIO()
        await export_rows(db, flt, make_writer(fmt, out))
        return out.getvalue()
    finally:
        await db.close()


def log_posts():
    # ten days of hourly posts in @legionoffreedom, 40 hours in @rybar
    return (hourly_posts(LEGION, NOW - timedelta(days=10), 240, text="Легион: сводка {n}")
            + hourly_posts(RYBAR, NOW - timedelta(hours=40), 40, first_id=900,
                           text='Рыбарь, "карта" {n}'))


async def delete_one(s, channel_id, message_id):
    db = await open_database(s.db_path)
    try:
        async with db.transaction() as conn:
            await mark_deleted(conn, channel_id, [message_id], NOW)
    finally:
        await db.close()


def test_csv_and_jsonl_exports_arrive_as_tgmon_export_writes_them(sim):
    who = people(sim)
    s = settings(sim, timezone="Europe/Moscow")
    results = {}

    async def body():
        await seed(s, NOW, posts=log_posts())
        await delete_one(s, LEGION.channel_id, 230)
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            anna = who[ANNA]
            default = await sim.ask(anna, "/export")
            jsonl = await sim.ask(anna, "/export @RybaR jsonl 30d")
            deleted = await sim.ask(anna, "/export since 2024-03-11 deleted t.me/legionoffreedom")
        asked = [m.at.replace(microsecond=0) for m in sim.world.received_by_bot(ANNA)]
        results["csv"] = await cli_export(s.db_path, ExportFilter(
            since=asked[0] - timedelta(days=7), before=asked[0]), "csv")
        results["deleted"] = await cli_export(s.db_path, ExportFilter(
            channel_ids=(LEGION.channel_id,), since=datetime(2024, 3, 10, 21, tzinfo=UTC),
            before=asked[2], deleted="include"), "csv")
        return default, jsonl, deleted

    default, jsonl, deleted = sim.run(body)
    # every channel, the last 7 days, CSV with the BOM, deleted posts left out
    assert default.file == {"name": "tgmon-all-2024-03-05_2024-03-12.csv",
                            "size": len(results["csv"])}
    assert uploaded(sim, default) == results["csv"]
    rows = results["csv"].decode("utf-8-sig").split("\r\n")[1:-1]
    assert len(rows) == 7 * 24 - 1 + 40                   # one of Легион's was deleted
    assert default.text.startswith(f"tgmon export: {len(rows)} posts of all channels, "
                                   "05 Mar 2024 08:00 MSK to 12 Mar 2024 08:00 MSK; CSV;")
    assert "deleted posts left out" in default.text
    # JSON Lines of one channel over 30 days
    assert jsonl.file["name"] == "tgmon-rybar-2024-02-11_2024-03-12.jsonl"
    records = [json.loads(line) for line in uploaded(sim, jsonl).decode().splitlines()]
    assert len(records) == 40 and {r["channel"] for r in records} == {"rybar"}
    assert records[0]["text"] == 'Рыбарь, "карта" 900'
    assert jsonl.text.startswith("tgmon export: 40 posts of @rybar")
    # since a date (midnight in the chat's zone: Moscow), deleted posts included
    assert uploaded(sim, deleted) == results["deleted"]
    assert "deleted posts included" in deleted.text and "11 Mar 2024 00:00 MSK" in deleted.text


def test_a_large_export_comes_gzipped(sim):
    who = people(sim)
    s = settings(sim)
    long_text = "Сводка: " + "обстрел, эвакуация, отключение света; " * 25 + "{n}"
    posts = hourly_posts(LEGION, NOW - timedelta(days=6), 144, per_hour=12, text=long_text)
    plain = {}

    async def body():
        await seed(s, NOW, posts=posts)
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            answer = await sim.ask(who[ANNA], "/export legionoffreedom")
        at = sim.world.received_by_bot(ANNA)[0].at.replace(microsecond=0)
        plain["csv"] = await cli_export(s.db_path, ExportFilter(
            channel_ids=(LEGION.channel_id,), since=at - timedelta(days=7), before=at), "csv")
        return answer

    answer = sim.run(body)
    assert len(plain["csv"]) > 1_000_000
    assert answer.file["name"] == "tgmon-legionoffreedom-2024-03-05_2024-03-12.csv.gz"
    packed = uploaded(sim, answer)
    assert len(packed) < len(plain["csv"]) // 5
    assert gzip.decompress(packed) == plain["csv"]
    assert f"{len(posts):,} posts of @legionoffreedom" in answer.text
    assert f"gzip ({len(plain['csv']) / 1e6:.1f} MB unpacked)" in answer.text


def test_export_is_for_people_the_access_rules_allow(sim):
    who = people(sim)

    async def body():
        await seed(settings(sim), NOW, posts=log_posts())
        async with sim.running(components=without_watcher, settings=settings(sim)) as (_app, _):
            refused = await sim.ask(who[IVAN], "/export csv")
            assert "not on this bot's allowlist" in refused.text and refused.file is None
        async with sim.running(components=without_watcher,
                               settings=settings(sim, access="admins")) as (_admins_only, _):
            assert "for its admins only" in (await sim.ask(who[ANNA], "/export")).text
            assert (await sim.ask(who[ADMIN], "/export rybar")).file is not None

    sim.run(body)
    assert [m.file for m in sim.world.sent_by_bot(IVAN) + sim.world.sent_by_bot(ANNA)] == \
        [None, None]


def test_bad_export_arguments_say_what_to_write(sim, monkeypatch):
    who = people(sim)
    s = settings(sim)
    refusals = {
        "/export xml": "xml is not a channel in the log",
        "/export csv jsonl": "Two formats given (csv and jsonl)",
        "/export rybar legionoffreedom": "Two channels given",
        "/export since": "since needs a date",
        "/export since 2024-13-45": "since '2024-13-45' is not a date",
        "/export 7d since 2024-03-01": "Two periods given",
        "/export since 2030-01-01": "is not in the past",
        "/export 0d": "0d is an empty period",
    }

    async def body():
        await seed(s, NOW, posts=log_posts())
        async with sim.running(components=without_watcher, settings=s) as (_app, _):
            for command, problem in refusals.items():
                answer = await sim.ask(who[ANNA], command)
                assert problem in answer.text, (command, answer.text)
                assert answer.file is None
            assert "Usage: /export [csv|jsonl]" in (await sim.ask(who[ANNA], "/export 0d")).text
            empty = await sim.ask(who[ANNA], "/export rybar since 2024-03-12T04:30")
            assert empty.text.startswith("No posts of @rybar from 12 Mar 2024 04:30 UTC")
            # over Telegram's upload limit (made small here): refused with what to do instead
            monkeypatch.setattr(digest_commands, "MAX_FILE", 2000)
            monkeypatch.setattr(digest_commands, "GZIP_OVER", 1000)
            big = await sim.ask(who[ANNA], "/export 30d")
            assert "too large to send" in big.text and "shorter period" in big.text

    sim.run(body)
    assert all(m.file is None for m in sim.world.sent_by_bot(ANNA))
