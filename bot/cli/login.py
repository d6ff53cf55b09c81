"""``tgmon login``: the first, interactive login of the watching user account (phone,
the code Telegram sends, the two-step password if the account has one). It creates the
session file readable by its owner only; ``tgmon run`` then starts without questions."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.telegram.login import LoginError, Prompts
from config.settings import Settings

if TYPE_CHECKING:
    from bot.telegram.clients import ClientFactory

ORDER = 5
# Telethon's connection attempts before connect() gives up: connection_retries (5,
# tgmon keeps Telethon's default) plus the first one.
CONNECT_ATTEMPTS = 6


__all__ = ["LoginError", "Prompts", "login"]


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "login", parents=[common], help="log the watching account in (once, interactively)",
        description="Log in the Telegram user account that watches the channels: asks for "
                    "its phone number, the code Telegram sends to its apps, and its two-step "
                    "password if it has one. Creates the session file (readable by you only) "
                    "that `tgmon run` uses. Needs TGMON_API_ID and TGMON_API_HASH.")
    p.add_argument("--phone", metavar="PHONE",
                   help="the account's phone number in international format (+44...); "
                        "asked for if not given")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import getpass

    from bot.cli.run import MissingCredentialsError
    from bot.telegram.clients import telegram_client_factory

    if settings.api_id is None or not settings.api_hash:
        raise MissingCredentialsError(
            "tgmon login needs TGMON_API_ID and TGMON_API_HASH (from https://my.telegram.org) "
            "in .env or the environment")
    phone = args.phone
    prompts = Prompts(
        phone=(lambda: phone) if phone else
        (lambda: input("Phone number of the watching account (e.g. +447700900123): ")),
        code=lambda: input("The code Telegram sent to your Telegram app: "),
        password=lambda: getpass.getpass("Two-step verification password: "))
    factory = telegram_client_factory(settings)
    print(asyncio.run(login(settings, factory, prompts)))
    return 0


async def login(settings: Settings, make_client: ClientFactory, prompts: Prompts) -> str:
    """Log the user account in (unless the session already is); returns what to tell
    the person. Holds the session lock, so it cannot run beside ``tgmon run``. If
    Telegram cannot be reached, one LoginError after Telethon's attempts."""
    from bot.reconnect import UNREACHABLE

    try:
        return await _login(settings, make_client, prompts)
    except UNREACHABLE as e:
        raise LoginError(
            f"cannot reach Telegram ({type(e).__name__}: {e}; the client tried "
            f"{CONNECT_ATTEMPTS} times): check the network, or the proxy in between, "
            "then run tgmon login again") from None


async def _login(settings: Settings, make_client: ClientFactory, prompts: Prompts) -> str:
    from bot.telegram.login import sign_in
    from bot.watcher.session import SessionLock, session_file
    from storage.dbfile import SESSION_PLACE, make_private_dir

    make_private_dir(settings.session_dir, "the session files", SESSION_PLACE)
    with SessionLock(settings.user_session):
        client = make_client("user", settings.user_session)
        name, already = await sign_in(client, prompts)
    if already:
        return f"Already logged in as {name}; nothing to do. Run `tgmon run`."
    path = session_file(settings.user_session)
    path.chmod(0o600)
    return (f"Logged in as {name}. The session is {path} (readable "
            "by you only: it gives full access to the account). Now run `tgmon run`.")
