"""``tgmon login``: the first, interactive login of a watching user account (phone, the
code Telegram sends, the two-step password if the account has one): ``main``, or
another one with ``--account NAME``. It creates the account's session file readable by
its owner only; ``tgmon run`` then starts every logged-in account without questions."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.telegram.login import LoginError, Prompts
from config.accounts import MAIN
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
        "login", parents=[common], help="log a watching account in (once, interactively)",
        description="Log in a Telegram user account that watches the channels: asks for "
                    "its phone number, the code Telegram sends to its apps, and its two-step "
                    "password if it has one. Creates the session file (readable by you only) "
                    "that `tgmon run` uses: user.session for the first account (main), "
                    "NAME.session for another one (--account NAME); `tgmon run` starts every "
                    "account logged in. Needs TGMON_API_ID and TGMON_API_HASH.")
    p.add_argument("--phone", metavar="PHONE",
                   help="the account's phone number in international format (+44...); "
                        "asked for if not given")
    p.add_argument("--account", metavar="NAME", default=MAIN,
                   help=f"which watching account (default {MAIN}): letters a-z, digits and "
                        "underscores; channels are spread over all of them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import getpass

    from bot.cli.run import MissingCredentialsError
    from bot.telegram.clients import telegram_client_factory
    from config.accounts import check_account_name

    account = check_account_name(args.account)
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
    print(asyncio.run(login(settings, factory, prompts, account)))
    return 0


async def login(settings: Settings, make_client: ClientFactory, prompts: Prompts,
                account: str = MAIN) -> str:
    """Log the watching account ``account`` in (unless its session already is); returns
    what to tell the person. Holds that session's lock, so it cannot run beside a
    ``tgmon run`` that uses the account. If Telegram cannot be reached, one LoginError
    after Telethon's attempts."""
    from bot.reconnect import UNREACHABLE

    try:
        return await _login(settings, make_client, prompts, account)
    except UNREACHABLE as e:
        raise LoginError(
            f"cannot reach Telegram ({type(e).__name__}: {e}; the client tried "
            f"{CONNECT_ATTEMPTS} times): check the network, or the proxy in between, "
            "then run tgmon login again") from None


async def _login(settings: Settings, make_client: ClientFactory, prompts: Prompts,
                 account: str) -> str:
    from bot.telegram.login import sign_in
    from bot.watcher.session import SessionLock, session_file
    from storage.dbfile import SESSION_PLACE, make_private_dir

    base = settings.account_session(account)
    make_private_dir(settings.session_dir, "the session files", SESSION_PLACE)
    with SessionLock(base):
        client = make_client("user", base, account)
        name, already = await sign_in(client, prompts)
    which = "" if account == MAIN else f" (watching account {account})"
    # a tgmon run that is running takes a new account on at its next start
    start = "Run `tgmon run` (restart it if it runs)" if account != MAIN else "Run `tgmon run`"
    if already:
        return f"Already logged in as {name}{which}; nothing to do. {start}."
    path = session_file(base)
    path.chmod(0o600)
    return (f"Logged in as {name}{which}. The session is {path} (readable "
            f"by you only: it gives full access to the account). Now {start[0].lower()}"
            f"{start[1:]}.")
