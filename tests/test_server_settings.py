"""Issue 10, item 6: another MTProto server. ``TGMON_SERVER=test`` (Telegram's test
servers) or ``DC@HOST:PORT`` with ``TGMON_SERVER_KEY`` (its RSA public key in PEM):
clients built for login, run and backfill go there, the key is known to Telethon,
sessions of different servers never mix, and bad values are refused in one line."""

from __future__ import annotations

import sqlite3

import pytest
import rsa
from telethon.crypto import rsa as telethon_rsa
from test_login import prompts

from bot.cli import main
from bot.cli.login import login
from bot.sim.sender import SIM_API_HASH, SIM_API_ID
from bot.telegram.clients import telegram_client_factory
from bot.telegram.servers import register_key
from config.settings import TEST_SERVER, Server, SettingsError, load_settings


@pytest.fixture(autouse=True)
def own_key_list(monkeypatch):
    """Keys registered by a test stay in that test."""
    monkeypatch.setattr(telethon_rsa, "_server_keys", dict(telethon_rsa._server_keys))


@pytest.fixture(scope="module")
def public_key() -> rsa.PublicKey:
    return rsa.newkeys(512)[0]


def pem_file(tmp_path, key: rsa.PublicKey, openssl: bool = False):
    path = tmp_path / ("server.pub" if openssl else "server.pem")
    if openssl:                     # SubjectPublicKeyInfo: -----BEGIN PUBLIC KEY-----
        from pyasn1.codec.der import encoder
        from pyasn1.type import univ
        from rsa.asn1 import OpenSSLPubKey, PubKeyHeader

        header = PubKeyHeader()
        header["oid"] = univ.ObjectIdentifier("1.2.840.113549.1.1.1")
        header["parameters"] = univ.Null("")
        info = OpenSSLPubKey()
        info["header"] = header
        info["key"] = univ.BitString.fromOctetString(key.save_pkcs1("DER"))
        path.write_bytes(rsa.pem.save_pem(encoder.encode(info), "PUBLIC KEY"))
    else:
        path.write_bytes(key.save_pkcs1())
    return path


def fingerprint(key: rsa.PublicKey) -> int:
    return telethon_rsa._compute_fingerprint(key)


def settings(tmp_path, **env):
    base = {"TGMON_API_ID": str(SIM_API_ID), "TGMON_API_HASH": SIM_API_HASH,
            "TGMON_SESSION_DIR": str(tmp_path / "data")}
    return load_settings(base | env, env_file=None)


@pytest.mark.parametrize(("value", "server"), [
    ("test", TEST_SERVER),
    ("TEST", TEST_SERVER),
    ("2@127.0.0.1:4430", Server(2, "127.0.0.1", 4430)),
    ("4@mtproto.example.org:443", Server(4, "mtproto.example.org", 443)),
    ("1@[::1]:8443", Server(1, "::1", 8443)),
])
def test_tgmon_server_reads_test_and_dc_at_host_and_port(tmp_path, value, server):
    assert settings(tmp_path, TGMON_SERVER=value).server == server


@pytest.mark.parametrize(("value", "needle"), [
    ("production", "expected test or DC@HOST:PORT (e.g. 2@127.0.0.1:4430), got 'production'"),
    ("127.0.0.1:443", "expected test or DC@HOST:PORT"),
    ("2@127.0.0.1", "expected test or DC@HOST:PORT"),
    ("0@127.0.0.1:443", "expected a data centre number from 1 to 1000, got 0"),
    ("2@127.0.0.1:70000", "expected a port from 1 to 65535, got 70000"),
])
def test_bad_server_values_are_refused_in_one_line(tmp_path, value, needle):
    with pytest.raises(SettingsError, match=r"^TGMON_SERVER: ") as e:
        settings(tmp_path, TGMON_SERVER=value)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_sessions_of_different_servers_never_mix(tmp_path):
    data = tmp_path / "data"
    assert settings(tmp_path).user_session == data / "user"
    assert settings(tmp_path, TGMON_SERVER="test").user_session == data / "user-test"
    other = settings(tmp_path, TGMON_SERVER="2@127.0.0.1:4430")
    assert other.user_session == data / "user-dc2-127.0.0.1-4430"
    assert other.bot_session == data / "bot-dc2-127.0.0.1-4430"


@pytest.mark.parametrize("openssl", [False, True], ids=["RSA PUBLIC KEY", "PUBLIC KEY"])
def test_clients_go_to_the_server_and_telethon_knows_its_key(tmp_path, public_key, openssl):
    key = pem_file(tmp_path, public_key, openssl)
    s = settings(tmp_path, TGMON_SERVER="2@127.0.0.1:4430", TGMON_SERVER_KEY=str(key))
    assert fingerprint(public_key) not in telethon_rsa._server_keys
    make = telegram_client_factory(s)
    assert telethon_rsa._server_keys[fingerprint(public_key)][0] == public_key
    for role, base in (("user", s.user_session), ("bot", s.bot_session)):
        client = make(role, base)
        session = client.session
        assert (session.dc_id, session.server_address, session.port) == (2, "127.0.0.1", 4430)
        session.close()
    assert (tmp_path / "data" / "user-dc2-127.0.0.1-4430.session").is_file()


def test_the_test_servers_and_an_ipv6_server(tmp_path, public_key):
    make = telegram_client_factory(settings(tmp_path, TGMON_SERVER="test"))
    session = make("user", tmp_path / "data" / "user-test").session
    assert (session.dc_id, session.server_address, session.port) == (2, "149.154.167.40", 80)
    session.close()
    key = pem_file(tmp_path, public_key)
    v6 = settings(tmp_path, TGMON_SERVER="1@[::1]:8443", TGMON_SERVER_KEY=str(key))
    client = telegram_client_factory(v6)("user", v6.user_session)
    assert client._use_ipv6 and client.session.server_address == "::1"
    client.session.close()


def test_a_session_that_has_connected_stays_where_the_server_moved_it(tmp_path):
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    s = settings(tmp_path, TGMON_SERVER="test")
    s.session_dir.mkdir(parents=True)
    earlier = SQLiteSession(str(s.user_session))
    earlier.set_dc(1, "149.154.175.10", 80)              # moved to the account's home DC
    earlier.auth_key = AuthKey(b"\x01" * 256)
    earlier.save()
    earlier.close()
    session = telegram_client_factory(s)("user", s.user_session).session
    assert (session.dc_id, session.server_address) == (1, "149.154.175.10")
    session.close()


def test_login_through_the_simulation_keeps_the_servers_session(fresh_sim, tmp_path,
                                                                public_key):
    """As far as the simulation goes: ``tgmon login``'s code path with a server set
    builds its client through the production factory (pointed at the server, its key
    registered), logs in, and leaves the server's own session file logged in."""
    sim = fresh_sim
    key = pem_file(tmp_path, public_key)
    s = sim.settings(server=Server(2, "127.0.0.1", 4430), server_key=key)
    factory = sim.world.client_factory(telegram_client_factory(s))

    message = sim.run(lambda: login(s, factory, prompts()))
    assert "Logged in as Monitor" in message
    conn = sqlite3.connect(tmp_path / "sessions" / "user-dc2-127.0.0.1-4430.session")
    row = conn.execute("SELECT dc_id, server_address, port, auth_key IS NOT NULL "
                       "FROM sessions").fetchone()
    conn.close()
    assert row == (2, "127.0.0.1", 4430, 1)
    assert not (tmp_path / "sessions" / "user.session").exists()
    assert fingerprint(public_key) in telethon_rsa._server_keys


@pytest.fixture
def fresh_sim(sim):
    sim.world.user_logged_in = False
    return sim


@pytest.fixture
def cli_env(fresh_machine, monkeypatch):
    monkeypatch.setenv("TGMON_API_ID", "12345")
    monkeypatch.setenv("TGMON_API_HASH", "0123456789abcdef0123456789abcdef")
    return monkeypatch


@pytest.mark.parametrize("command", [["login", "--phone", "+15550000001"], ["run"],
                                     ["backfill", "--limit", "1"]])
@pytest.mark.parametrize(("server", "key", "needle"), [
    ("2@127.0.0.1:4430", "missing.pem", "TGMON_SERVER_KEY: cannot read missing.pem: "
                                        "No such file or directory"),
    ("2@127.0.0.1:4430", "notakey.pem", "TGMON_SERVER_KEY: notakey.pem is not an RSA public "
                                        "key in PEM"),
    ("", "notakey.pem", "TGMON_SERVER_KEY is set but TGMON_SERVER is not"),
    ("2@localhost", "", "TGMON_SERVER: expected test or DC@HOST:PORT"),
])
def test_login_run_and_backfill_refuse_bad_server_settings_in_one_line(
        tmp_path, cli_env, capsys, command, server, key, needle):
    (tmp_path / "notakey.pem").write_text("-----BEGIN CERTIFICATE-----\nxyz\n")
    cli_env.setenv("TGMON_SERVER", server)
    cli_env.setenv("TGMON_SERVER_KEY", key)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.startswith("tgmon: error: ") and needle in err and err.count("\n") == 1


def test_run_and_backfill_look_for_the_servers_session(tmp_path, cli_env, capsys,
                                                       public_key):
    cli_env.setenv("TGMON_SERVER", "2@127.0.0.1:4430")
    cli_env.setenv("TGMON_SERVER_KEY", str(pem_file(tmp_path, public_key)))
    for command in (["run"], ["backfill", "--limit", "1"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "no logged-in session at data/user-dc2-127.0.0.1-4430.session" in err


def test_register_key_returns_telegrams_fingerprint(tmp_path, public_key):
    assert register_key(pem_file(tmp_path, public_key)) == fingerprint(public_key)
