"""``tgmon login`` against the simulated Telegram (code, two-step password), and
``tgmon run`` refusing to start: no credentials, no logged-in session, a session that
another process holds."""

from __future__ import annotations

import os
import stat
from itertools import chain, repeat

import pytest

from bot.cli import main
from bot.cli.login import LoginError, Prompts, login
from bot.runtime import NotAuthorizedError
from bot.watcher.session import SessionLock, SessionLockedError, has_auth_key

PHONE = "+15550000001"


def answers(*values):
    """A prompt answering ``values`` in turn (the last one forever)."""
    it = chain(values, repeat(values[-1]))
    return lambda: next(it)


def prompts(code="12345", password="hunter2", said=None):
    return Prompts(phone=answers(PHONE), code=answers(*code.split("|")),
                   password=answers(*password.split("|")),
                   say=(said.append if said is not None else lambda s: None))


@pytest.fixture
def fresh(sim):
    """A world whose user account is not logged in yet (as before `tgmon login`)."""
    sim.world.user_logged_in = False
    return sim


def test_login_with_code_and_two_step_password_then_run_starts(fresh):
    sim = fresh
    sim.world.set_two_step_password("correct horse")
    said: list[str] = []
    s = sim.settings()

    async def body():
        message = await login(s, sim.world.client_factory(),
                              prompts(code="99999|12345", password="wrong|correct horse",
                                      said=said))
        assert "Logged in as Monitor" in message and "tgmon run" in message
        again = await login(s, sim.world.client_factory(), prompts())
        assert again.startswith("Already logged in as Monitor")
        # authorised: no NotAuthorizedError
        async with sim.running(components=lambda: [], settings=s) as (_app, rt):
            assert (await rt.user.get_me()).id == sim.world.user.id

    sim.run(body)
    assert said == ["That code is wrong; try again (2 left).",
                    "That password is wrong; try again (2 left)."]
    session = s.session_dir / "user.session"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert stat.S_IMODE(s.session_dir.stat().st_mode) == 0o700
    assert has_auth_key(s.user_session)
    # the password itself never crossed the wire
    checks = sim.world.requests_of("auth.checkPassword")
    assert len(checks) == 2 and all(b"correct horse" not in bytes(r) for r in checks)


def test_wrong_codes_three_times_is_one_clear_error(fresh):
    sim = fresh
    s = sim.settings()

    async def body():
        with pytest.raises(LoginError, match="wrong three times"):
            await login(s, sim.world.client_factory(), prompts(code="1|2|3"))
        app = sim.app(components=lambda: [], settings=s)
        with pytest.raises(NotAuthorizedError, match="tgmon login"):
            await app.start()

    sim.run(body)


def test_a_bad_phone_number_and_a_bot_token_are_refused(fresh):
    sim = fresh
    s = sim.settings()

    async def body():
        bad = Prompts(phone=answers("+999"), code=answers("1"), password=answers("x"))
        with pytest.raises(LoginError, match="international format"):
            await login(s, sim.world.client_factory(), bad)
        token = Prompts(phone=answers("123:ABC"), code=answers("1"), password=answers("x"))
        with pytest.raises(LoginError, match="TGMON_BOT_TOKEN"):
            await login(s, sim.world.client_factory(), token)

    sim.run(body)


def test_two_apps_on_one_session_the_second_is_refused(sim):
    s = sim.settings()

    async def body():
        async with sim.running(components=lambda: [], settings=s) as (_first, _):
            second = sim.app(components=lambda: [], settings=s)
            with pytest.raises(SessionLockedError) as refused:
                await second.start()
            message = str(refused.value)
            assert "\n" not in message and f"pid {os.getpid()}" in message
            assert "user.session" in message
        third = sim.app(components=lambda: [], settings=s)   # free again after a stop
        await third.start()
        await third.stop()

    sim.run(body)


def test_the_lock_is_released_when_the_holder_closes(tmp_path):
    base = tmp_path / "user"
    with SessionLock(base), pytest.raises(SessionLockedError):
        SessionLock(base).acquire()
    SessionLock(base).acquire().release()


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("TGMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_without_a_session_says_to_log_in(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("TGMON_API_ID", "12345")
    monkeypatch.setenv("TGMON_API_HASH", "0123456789abcdef0123456789abcdef")
    assert main(["run"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tgmon: error: ")
    assert "tgmon login" in err and "data/user.session" in err


def test_run_beside_another_process_says_so(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("TGMON_API_ID", "12345")
    monkeypatch.setenv("TGMON_API_HASH", "0123456789abcdef0123456789abcdef")
    import sqlite3
    (clean_env / "data").mkdir()
    conn = sqlite3.connect(clean_env / "data" / "user.session")
    conn.execute("CREATE TABLE sessions (dc_id, server_address, port, auth_key, takeout_id)")
    conn.execute("INSERT INTO sessions VALUES (2, '1.2.3.4', 443, x'0102', NULL)")
    conn.commit()
    conn.close()
    with SessionLock(clean_env / "data" / "user"):
        assert main(["run"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another tgmon process" in err


def test_login_without_credentials_says_what_to_set(clean_env, capsys):
    assert main(["login"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "TGMON_API_ID" in err and "TGMON_API_HASH" in err


def test_login_with_a_name_that_cannot_be_an_account_says_what_a_name_is(clean_env, capsys):
    assert main(["login", "--account", "bot"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'bot' cannot be an account name" in err and "main" in err
    assert not (clean_env / "data" / "bot.session").exists()


def test_run_beside_a_process_holding_a_second_account_says_so(clean_env, monkeypatch,
                                                                 capsys):
    monkeypatch.setenv("TGMON_API_ID", "12345")
    monkeypatch.setenv("TGMON_API_HASH", "0123456789abcdef0123456789abcdef")
    import sqlite3
    (clean_env / "data").mkdir()
    for name in ("user", "second"):
        conn = sqlite3.connect(clean_env / "data" / f"{name}.session")
        conn.execute("CREATE TABLE sessions (dc_id, server_address, port, auth_key, "
                     "takeout_id)")
        conn.execute("INSERT INTO sessions VALUES (2, '1.2.3.4', 443, x'0102', NULL)")
        conn.commit()
        conn.close()
    with SessionLock(clean_env / "data" / "second"):
        assert main(["run"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another tgmon process" in err
    assert "second.session" in err
