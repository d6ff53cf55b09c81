"""Logging the watching account in: the phone number, the code Telegram sends, the
two-step password if the account has one (``tgmon login``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.errors import TgmonError

ATTEMPTS = 3


class LoginError(TgmonError):
    pass


@dataclass(frozen=True)
class Prompts:
    """How the login asks (a terminal in ``tgmon login``; canned answers in tests)."""

    phone: Callable[[], str]
    code: Callable[[], str]
    password: Callable[[], str]
    say: Callable[[str], None] = print


async def sign_in(client: Any, prompts: Prompts) -> tuple[str, bool]:
    """Connect ``client`` and log it in, unless it is; returns the account's name and
    whether it was logged in already. Disconnects it again."""
    from telethon import errors, utils

    await client.connect()
    try:
        if await client.is_user_authorized():
            return utils.get_display_name(await client.get_me()), True
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
        me = await _code_and_password(client, phone, prompts)
    finally:
        await client.disconnect()
    return utils.get_display_name(me), False


async def _code_and_password(client: Any, phone: str, prompts: Prompts) -> Any:
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
