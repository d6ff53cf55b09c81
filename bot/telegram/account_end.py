"""When Telegram ends one of tgmon's accounts, and what tgmon does about it.

Telegram answers every request of an account it has ended with an RPC error: the
session's authorisation revoked (``AUTH_KEY_UNREGISTERED``, ``SESSION_REVOKED``), the
account deleted (``USER_DEACTIVATED``) or banned (``USER_DEACTIVATED_BAN``), the bot's
token revoked. Retrying cannot help, so ``tgmon run`` stops and says why (see
:mod:`bot.telegram.account_watch`). :func:`account_ended` is the whole classification: a pure
function from the exception (and which client met it) to that decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import TgmonError

_LOG_IN = "log it in again with `tgmon login`, then start tgmon"
_OTHER = "watch with another account: `tgmon login` with it, then start tgmon"
_TOKEN = "get a new token from @BotFather, set TGMON_BOT_TOKEN, then start tgmon"

# Telegram's error -> (what happened, what to do), per client
_USER = {
    "AUTH_KEY_UNREGISTERED": ("the watching account's session is no longer authorised "
                              "(logged out or terminated from another device)", _LOG_IN),
    "SESSION_REVOKED": ("the watching account's session was terminated", _LOG_IN),
    "SESSION_EXPIRED": ("the watching account's session expired", _LOG_IN),
    "USER_DEACTIVATED": ("the watching account was deleted", _OTHER),
    "USER_DEACTIVATED_BAN": ("the watching account was banned by Telegram", _OTHER),
}
_BOT = {
    "AUTH_KEY_UNREGISTERED": ("the bot's token was revoked", _TOKEN),
    "SESSION_REVOKED": ("the bot's token was revoked", _TOKEN),
    "ACCESS_TOKEN_EXPIRED": ("the bot's token was revoked", _TOKEN),
    "ACCESS_TOKEN_INVALID": ("the bot's token is not valid (revoked, or mistyped)", _TOKEN),
    "USER_DEACTIVATED": ("the bot was deleted", _TOKEN),
    "USER_DEACTIVATED_BAN": ("the bot was banned by Telegram", _TOKEN),
}


@dataclass(frozen=True)
class AccountEnded:
    """Telegram ended ``role``'s account (``user``: the watching account, or ``bot``)."""

    role: str
    code: str                 # Telegram's error, e.g. USER_DEACTIVATED_BAN
    what: str
    advice: str

    @property
    def reason(self) -> str:
        """One line: what happened and what to do."""
        return f"{self.what} ({self.code}): {self.advice}"


def account_ended(error: BaseException, role: str) -> AccountEnded | None:
    """What ``error``, met by the ``role`` client, means for tgmon: the account was ended
    (stop, say why), or None (an ordinary failure, handled where it happened)."""
    from telethon import errors
    from telethon.errors.rpcerrorlist import rpc_errors_dict

    if not isinstance(error, errors.RPCError):
        return None
    table = _USER if role == "user" else _BOT
    # Telethon raises a class per known error (UserDeactivatedBanError), whose
    # ``message`` is only its family's (UNAUTHORIZED); an unknown one keeps the code.
    code = next((c for c in table if rpc_errors_dict.get(c) is type(error)),
                str(getattr(error, "message", "") or ""))
    found = table.get(code)
    return None if found is None else AccountEnded(role, code, *found)


class AccountEndedError(TgmonError):
    """``tgmon run`` stops: Telegram ended one of its accounts. One line, the reason."""

    def __init__(self, ended: AccountEnded) -> None:
        super().__init__(f"tgmon stopped: {ended.reason}")
        self.ended = ended
