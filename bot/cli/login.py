"""``tgmon login``: the first, interactive login of the watching user account (phone,
the code Telegram sends, the two-step password if the account has one). It creates the
session file readable by its owner only; ``tgmon run`` then starts without questions."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from telethon import TelegramClient

    from bot.app import ClientFactory

ORDER = 5
ATTEMPTS = 3
# Telethon's connection attempts before connect() gives up: connection_retries (5,
# tgmon keeps Telethon's default) plus the first one.
CONNECT_ATTEMPTS = 6


class LoginError(TgmonError):
    pass


@dataclass(frozen=True)
class Prompts:
    """How the login asks (a terminal in ``tgmon login``; canned answers in tests)."""

    phone: Callable[[], str]
    code: Callable[[], str]
    password: Callable[[], str]
    say: Callable[[str], None] = print


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

    from bot.cli.run import MissingCredentialsError, telegram_client_factory

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
    from telethon import errors, utils

    from bot.watcher.session import SessionLock, session_file
    from storage.dbfile import SESSION_PLACE, make_private_dir

    make_private_dir(settings.session_dir, "the session files", SESSION_PLACE)
    with SessionLock(settings.user_session):
        client = make_client("user", settings.user_session)
        await client.connect()
        try:
            if await client.is_user_authorized():
                me = await client.get_me()
                return (f"Already logged in as {utils.get_display_name(me)}; nothing to do. "
                        "Run `tgmon run`.")
            phone = prompts.phone().strip()
            if ":" in phone:
                raise LoginError("that looks like a bot token: tgmon login logs in the user "
                                 "account that watches channels; the bot's token goes in "
                                 "TGMON_BOT_TOKEN")
            try:
                await client.send_code_request(phone)
            except errors.PhoneNumberInvalidError:
                raise LoginError(f"Telegram does not accept the phone number {phone!r}: give "
                                 "it in international format, e.g. +447700900123") from None
            except errors.PhoneNumberBannedError:
                raise LoginError(f"Telegram has banned the number {phone}") from None
            except errors.FloodWaitError as e:
                raise LoginError(f"Telegram asks to wait {e.seconds} s before sending another "
                                 "code; try again later") from None
            me = await _sign_in(client, phone, prompts)
        finally:
            await client.disconnect()
    path = session_file(settings.user_session)
    path.chmod(0o600)
    return (f"Logged in as {utils.get_display_name(me)}. The session is {path} (readable "
            "by you only: it gives full access to the account). Now run `tgmon run`.")


async def _sign_in(client: TelegramClient, phone: str, prompts: Prompts) -> Any:
    """The code (three tries), then the two-step password if Telegram asks (three)."""
    from telethon import errors

    for left in range(ATTEMPTS - 1, -1, -1):
        code = prompts.code().strip().replace(" ", "")
        try:
            return await client.sign_in(phone, code=code)
        except errors.SessionPasswordNeededError:
            break
        except (errors.PhoneCodeInvalidError, errors.PhoneCodeEmptyError):
            if not left:
                raise LoginError("the code was wrong three times: run tgmon login again "
                                 "for a new code") from None
            prompts.say(f"That code is wrong; try again ({left} left).")
        except errors.PhoneCodeExpiredError:
            raise LoginError("the code has expired: run tgmon login again for a new "
                             "one") from None
    for left in range(ATTEMPTS - 1, -1, -1):
        try:
            return await client.sign_in(phone=phone, password=prompts.password())
        except errors.PasswordHashInvalidError:
            if not left:
                raise LoginError("the two-step password was wrong three times; run tgmon "
                                 "login again") from None
            prompts.say(f"That password is wrong; try again ({left} left).")
    raise LoginError("Telegram did not accept the login; run tgmon login again")
