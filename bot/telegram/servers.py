"""Which MTProto server tgmon's clients talk to: Telegram (the default), Telegram's test
servers (``TGMON_SERVER=test``), or another server (``TGMON_SERVER=DC@HOST:PORT``) whose
RSA public key ``TGMON_SERVER_KEY`` names. Telethon only starts a session with a server
whose key it knows, so that key is added to Telethon's own list of server keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.errors import TgmonError
from config.settings import Server, Settings


class ServerSettingsError(TgmonError):
    pass


def check_server(settings: Settings) -> Server | None:
    """The server the clients should use; its key (if any) registered with Telethon.
    Raises :class:`ServerSettingsError` (one line) for a key that cannot be used."""
    server, key = settings.server, settings.server_key
    if key is not None and server is None:
        raise ServerSettingsError(
            "TGMON_SERVER_KEY is set but TGMON_SERVER is not: set TGMON_SERVER to the "
            "DC@HOST:PORT of the server the key belongs to, or remove TGMON_SERVER_KEY")
    if key is not None:
        register_key(key)
    return server


def register_key(path: Path) -> int:
    """Read an RSA public key in PEM (``BEGIN RSA PUBLIC KEY`` or ``BEGIN PUBLIC KEY``)
    and add it to Telethon's server keys; returns its fingerprint as Telegram computes
    it (what a server names in its answer to ``req_pq``)."""
    import rsa
    from telethon.crypto import rsa as telethon_rsa

    try:
        data = path.read_bytes()
    except OSError as e:
        raise ServerSettingsError(f"TGMON_SERVER_KEY: cannot read {path}: "
                                  f"{e.strerror or e}") from None
    try:
        if b"BEGIN RSA PUBLIC KEY" in data:
            key = rsa.PublicKey.load_pkcs1(data)
        else:
            key = rsa.PublicKey.load_pkcs1_openssl_pem(data)
    except Exception:
        raise ServerSettingsError(
            f"TGMON_SERVER_KEY: {path} is not an RSA public key in PEM (a file that begins "
            "with -----BEGIN RSA PUBLIC KEY----- or -----BEGIN PUBLIC KEY-----)") from None
    telethon_rsa.add_key(key.save_pkcs1().decode(), old=False)
    return int(telethon_rsa._compute_fingerprint(key))


def client_options(server: Server | None) -> dict[str, Any]:
    """Options of ``TelegramClient`` a server needs (an IPv6 address needs ``use_ipv6``,
    or Telethon puts the session back on Telegram's default address)."""
    return {"use_ipv6": True} if server is not None and ":" in server.host else {}


def point_at(client: Any, server: Server | None) -> None:
    """Send a client whose session never connected to ``server``. A session that has
    (it holds an authorisation key) stays where it is: Telegram may have moved it to
    another data centre of that server, and its key is only valid there."""
    if server is not None and client.session.auth_key is None:
        client.session.set_dc(server.dc_id, server.host, server.port)
        client.session.save()
