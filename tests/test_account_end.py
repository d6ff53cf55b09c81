"""Issue 10, item 7: when Telegram ends an account (authorisation revoked, account
banned or deleted, bot token revoked) tgmon says so at once: one message to the admins
through the bot while the bot works, the log, ``tgmon stats`` and ``/status``, and
``tgmon run`` exits with the reason instead of retrying for ever. Modelled by the
scenario faults ``session_revoked`` and ``account_banned``."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from telethon import errors
from telethon.errors import rpc_message_to_error
from telethon.tl import types

from bot.app import App, default_components
from bot.cli import main
from bot.runtime import NotAuthorizedError
from bot.sim.jsonread import ScenarioError
from bot.sim.scenario import parse_scenario
from bot.sim.vclock import run_simulated
from bot.telegram.account_end import AccountEndedError, account_ended
from storage.account_ends import recent_ends
from storage.db import open_database

ADMIN = 700001
START = datetime(2024, 3, 12, 3, 0, tzinfo=UTC)
FAULT_AT = START + timedelta(hours=1)


# ---- the classification: one pure function -----------------------------------------

@pytest.mark.parametrize(("error", "role", "code"), [
    (errors.AuthKeyUnregisteredError(None), "user", "AUTH_KEY_UNREGISTERED"),
    (errors.SessionRevokedError(None), "user", "SESSION_REVOKED"),
    (errors.UserDeactivatedError(None), "user", "USER_DEACTIVATED"),
    (errors.UserDeactivatedBanError(None), "user", "USER_DEACTIVATED_BAN"),
    (errors.AuthKeyUnregisteredError(None), "bot", "AUTH_KEY_UNREGISTERED"),
    (errors.AccessTokenInvalidError(None), "bot", "ACCESS_TOKEN_INVALID"),
    (errors.AccessTokenExpiredError(None), "bot", "ACCESS_TOKEN_EXPIRED"),
    (rpc_message_to_error(types.RpcError(401, "SESSION_REVOKED"), None), "user",
     "SESSION_REVOKED"),
    (errors.AccessTokenInvalidError(None), "user", None),   # not the watching account's
    (errors.FloodWaitError(None, capture=30), "user", None),
    (errors.ChannelPrivateError(None), "user", None),
    (errors.UserIsBlockedError(None), "bot", None),
    (ConnectionError("down"), "user", None),
])
def test_what_ends_an_account(error, role, code):
    ended = account_ended(error, role)
    assert (ended.code if ended else None) == code
    if ended is not None:
        assert ended.role == role and code in ended.reason and "\n" not in ended.reason


def test_the_words_say_what_happened_and_what_to_do():
    banned = account_ended(errors.UserDeactivatedBanError(None), "user")
    assert banned.reason == ("the watching account was banned by Telegram "
                             "(USER_DEACTIVATED_BAN): watch with another account: "
                             "`tgmon login --account NAME` with it, then start tgmon")
    token = account_ended(errors.AuthKeyUnregisteredError(None), "bot")
    assert "token was revoked" in token.reason and "@BotFather" in token.reason
    assert str(AccountEndedError(banned)) == f"tgmon stopped: {banned.reason}"


# ---- in the simulation ---------------------------------------------------------------

def scenario(fault: dict | None, *, hours: int = 3) -> dict:
    events = [{"at": "2024-03-12T03:01:00Z", "message": {"from": ADMIN, "text": "/start"}},
              {"at": "2024-03-12T03:20:00Z",
               "post": {"channel": "chan_a", "id": 1, "text": "Post 1"}},
              {"at": "2024-03-12T04:30:00Z",
               "post": {"channel": "chan_a", "id": 2, "text": "Post 2"}}]
    if fault is not None:
        events.append({"at": FAULT_AT.isoformat(), "fault": fault})
    return {"start": START.isoformat(), "end": (START + timedelta(hours=hours)).isoformat(),
            "settings": {"admins": [ADMIN], "access": "open", "watch": ["chan_a"]},
            "channels": [{"id": 1800000001, "username": "chan_a", "title": "A"}],
            "users": [{"id": ADMIN, "first_name": "Desk"}], "events": events}


def after(report, body):
    """Run ``body(app)`` on the world the play left behind, an hour after its end,
    with an app like the play's (a restart of ``tgmon run``)."""
    async def main():
        app = App(report.settings, make_client=report.world.client_factory(),
                  components=default_components)
        try:
            return await body(app)
        finally:
            await app.stop()
    return run_simulated(main, start=report.scenario.end + timedelta(hours=1))


def notices(world) -> list[str]:
    return [m.text for m in world.sent_by_bot(ADMIN) if "tgmon has stopped" in m.text]


def ends_in(db_path):
    async def read():
        db = await open_database(db_path)
        try:
            return await recent_ends(db, START)
        finally:
            await db.close()
    return asyncio.run(read())


@pytest.mark.parametrize(("fault", "code"), [
    ({"kind": "account_banned", "client": "user"}, "USER_DEACTIVATED_BAN"),
    ({"kind": "session_revoked", "client": "user"}, "SESSION_REVOKED"),
])
def test_the_watching_account_ended_stops_the_run_and_tells_the_admins_once(
        sim, caplog, fault, code):
    with caplog.at_level(logging.ERROR):
        report = sim.play(scenario(fault), components=default_components)

    assert report.ended is not None and report.ended.code == code
    assert report.ended.role == "user"
    # at once: at the first request after the fault, not hours of retries later
    assert FAULT_AT <= report.ended_at <= FAULT_AT + timedelta(minutes=5)
    said = notices(report.world)
    assert len(said) == 1 and code in said[0]
    assert report.captured == 1                      # Post 2 came after the end
    errors_logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Telegram ended an account: " in e and code in e for e in errors_logged)
    # said once: the watcher's read that met the end, or lost its client as the app
    # stopped, is no channel's failure (found by the soak, seeds 22 and 33)
    assert [e for e in errors_logged if "Telegram ended an account: " not in e] == []
    (end,) = ends_in(report.settings.db_path)
    assert (end.role, end.code, end.resumed_at) == ("user", code, None)
    assert end.notified_at is not None


def test_a_revoked_bot_token_stops_the_run_without_a_notice(sim):
    report = sim.play(scenario({"kind": "session_revoked", "client": "bot"}),
                      components=default_components)
    assert report.ended is not None and report.ended.role == "bot"
    assert report.ended.code == "AUTH_KEY_UNREGISTERED"
    assert "token was revoked" in report.ended.reason
    assert notices(report.world) == []              # the bot cannot say it any more
    (end,) = ends_in(report.settings.db_path)
    assert end.role == "bot" and end.notified_at is None


def test_a_restart_refuses_in_one_line_and_does_not_tell_the_admins_again(sim):
    report = sim.play(scenario({"kind": "account_banned", "client": "user"}),
                      components=default_components)
    world, settings = report.world, report.settings

    async def restart(app):
        with pytest.raises(AccountEndedError, match="banned by Telegram") as raised:
            await app.start()
        return raised.value

    error = after(report, restart)
    assert error.ended.code == "USER_DEACTIVATED_BAN" and "\n" not in str(error)
    assert len(notices(world)) == 1
    assert len(ends_in(settings.db_path)) == 1      # the same end, not a new one


def test_a_bot_token_refused_at_start_ends_the_run(sim):
    sim.world.add_channel("chan_a", "A")
    settings = sim.settings(bot_token=f"{sim.world.bot.id}:not-the-token")

    async def body():
        app = sim.app(components=default_components, settings=settings)
        with pytest.raises(AccountEndedError, match="ACCESS_TOKEN_INVALID"):
            await app.start()

    sim.run(body)
    (end,) = ends_in(settings.db_path)
    assert end.role == "bot"


def test_a_session_never_logged_in_is_still_just_not_logged_in(sim):
    sim.world.user_logged_in = False
    sim.world.add_channel("chan_a", "A")

    async def body():
        app = sim.app(components=default_components)
        with pytest.raises(NotAuthorizedError, match="tgmon login") as raised:
            await app.start()
        assert not isinstance(raised.value, AccountEndedError)

    sim.run(body)
    assert ends_in(sim.settings().db_path) == []


def test_status_shows_the_end_after_the_account_is_back(sim):
    """Revoked, stopped; logged in again (a new session); /status tells the admins what
    happened and since when capture runs again."""
    report = sim.play(scenario({"kind": "session_revoked", "client": "user"}),
                      components=default_components)
    world, settings = report.world, report.settings
    for suffix in (".session", ".session-journal"):          # `tgmon login` again
        settings.user_session.with_name(settings.user_session.name + suffix).unlink(
            missing_ok=True)
    admin = world.person(ADMIN)

    async def body(app):
        await app.start()
        before = len(world.sent_by_bot(ADMIN))
        world.user_writes(admin, "/status")
        while len(world.sent_by_bot(ADMIN)) == before:
            await asyncio.sleep(0.5)
        return world.sent_by_bot(ADMIN)[before].text

    text = after(report, body)
    assert "⛔ Telegram ended the watching account" in text and "SESSION_REVOKED" in text
    assert "running again since" in text
    (end,) = ends_in(settings.db_path)
    assert end.resumed_at is not None


def test_tgmon_run_exits_non_zero_with_the_reason_and_stats_shows_it(fresh_machine, capsys):
    path = fresh_machine / "ban.json"
    path.write_text(json.dumps(scenario({"kind": "account_banned", "client": "user"})))
    assert main(["run", "--simulate", str(path), "--db", "ban.db"]) == 1
    out, err = capsys.readouterr()
    assert "tgmon stopped at 2024-03-12T04:" in out                 # the summary
    last = err.strip().splitlines()[-1]
    assert last.startswith("tgmon: error: tgmon stopped: the watching account was banned")
    assert main(["stats", "--db", "ban.db"]) == 0
    out = capsys.readouterr().out
    assert "Accounts Telegram ended:" in out
    assert "user main: the watching account was banned by Telegram (USER_DEACTIVATED_BAN)" in out
    assert "tgmon has not run with it since" in out


def test_the_faults_need_a_client():
    bad = scenario({"kind": "account_banned"})
    with pytest.raises(ScenarioError, match=r"\$\.events\[3\]\.fault: missing 'client'"):
        parse_scenario(json.dumps(bad))
    fine = parse_scenario(json.dumps(scenario({"kind": "session_revoked", "client": "bot"})))
    (fault,) = [e.action for e in fine.events if e.path == "$.events[3]"]
    assert (fault.kind, fault.client) == ("session_revoked", "bot")
