"""Issue 10, item 5: logs that explain. A failure's line carries the exception's
message and where it was raised; DEBUG adds its traceback and Telethon's own update
handling (gaps, differences), with post text hidden and secrets scrubbed."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from capturekit import resolved, rows, until
from simkit import T0

from bot.failures import failure
from bot.logs import setup_logging
from bot.sim.vclock import sleep_until
from bot.watcher.component import Watcher


@pytest.fixture
def our_logging():
    yield
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_tgmon", False)]
    setup_logging("INFO")
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_tgmon", False)]


def broken_zip() -> None:
    list(zip([1, 2], [1], strict=True))


def test_a_failure_says_its_message_and_where_it_was_raised():
    with pytest.raises(ValueError) as raised:
        broken_zip()
    assert re.fullmatch(r"ValueError: zip\(\) argument 2 is shorter than argument 1 "
                        r"\(at tests/test_failure_logs\.py:\d+\)", failure(raised.value))
    with pytest.raises(json.JSONDecodeError) as raised:
        json.loads("{")               # raised in the standard library: our caller follows
    assert re.fullmatch(r"JSONDecodeError: Expecting property name .* \(at "
                        r"json/decoder\.py:\d+, from tests/test_failure_logs\.py:\d+\)",
                        failure(raised.value))


def test_a_long_message_stays_on_one_line_and_hidden_text_is_hidden():
    e = ValueError("cannot store «ТАЙНО»\n" + "x" * 1000)
    said = failure(e, hide=["ТАЙНО"])
    assert "\n" not in said and "ТАЙНО" not in said and "<post text>" in said
    assert said.startswith("ValueError: cannot store «<post text>» xxx") and "…" in said


def test_a_failing_recheck_logs_message_place_and_at_debug_the_traceback(sim, caplog,
                                                                       monkeypatch):
    import bot.watcher.recheck as recheck

    async def broken(*args, **kwargs):
        broken_zip()
        yield
    monkeypatch.setattr(recheck, "read_again", broken)
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    w.post(legion, "пост", push=False)

    async def body():
        async with sim.running(
                components=lambda: [Watcher()], settings=sim.settings()) as (_app, _):
            await sleep_until(T0 + timedelta(minutes=2))

    with caplog.at_level(logging.DEBUG):
        sim.run(body)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.watcher.outcomes"]
    failed = next(i for i, line in enumerate(lines) if "recheck of @legionoffreedom" in line)
    assert re.search(r"failed: ValueError: zip\(\) argument 2 is shorter than argument 1 "
                     r"\(at tests/test_failure_logs\.py:\d+\); retrying in", lines[failed])
    trace = lines[failed + 1]
    assert trace.startswith("traceback of the failure above:\nTraceback (most recent call")
    assert "bot/watcher/recheck.py" in trace and "in broken_zip" in trace


def test_debug_shows_telethons_update_handling_without_post_text(sim, capsys, our_logging):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    secret = "ТАЙНЫЙТЕКСТ"
    s = sim.settings()
    setup_logging("DEBUG", [s.api_hash, s.bot_token])

    async def body():
        async with sim.running(components=lambda: [Watcher()], settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.post(legion, f"{secret} 1")
            w.drop_updates(5, role="user")
            w.post(legion, f"{secret} 2")                  # lost: a gap at the next push
            await sleep_until(T0 + timedelta(minutes=5))
            w.post(legion, f"{secret} 3")
            await until(lambda: _count(rt.db, legion.id, 3), timeout=300, step=1.0)

    sim.run(body)
    err = capsys.readouterr().err
    assert "TRACE tgmon.telethon.user.messagebox: Possible gap since local pts" in err
    assert "DEBUG tgmon.telethon.user.client.updates: Getting difference for channel " \
           f"{legion.id} updates" in err
    assert "message=<" in err                       # TL objects shown, their text hidden
    assert secret not in err
    assert s.api_hash not in err and s.bot_token not in err


async def _count(db, channel_id, n) -> bool:
    return len(await rows(db, channel_id)) >= n
