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

from config.accounts import MAIN
from config.errors import TgmonError

_LOG_IN = "log it in again with `tgmon login{option}`, then start tgmon"
_OTHER = ("watch with another account: `tgmon login --account NAME` with it, then start "
          "tgmon")
_TOKEN = "get a new token from @BotFather, set TGMON_BOT_TOKEN, then start tgmon"

# Telegram's error -> (what happened, what to do), per client; {account} names a
# watching account other than main (" second"), {option} its login option.
_USER = {
    "AUTH_KEY_UNREGISTERED": ("the watching account{account}'s session is no longer "
                              "authorised (logged out or terminated from another device)",
                              _LOG_IN),
    "SESSION_REVOKED": ("the watching account{account}'s session was terminated", _LOG_IN),
    "SESSION_EXPIRED": ("the watching account{account}'s session expired", _LOG_IN),
    "USER_DEACTIVATED": ("the watching account{account} was deleted", _OTHER),
    "USER_DEACTIVATED_BAN": ("the watching account{account} was banned by Telegram", _OTHER),
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
    """Telegram ended ``role``'s account (``user``: a watching account, or ``bot``)."""

    role: str
    code: str                 # Telegram's error, e.g. USER_DEACTIVATED_BAN
    what: str
    advice: str
    account: str | None = None      # the watching account (main, second, ...); bot: None

    @property
    def reason(self) -> str:
        """One line: what happened and what to do."""
        return f"{self.what} ({self.code}): {self.advice}"


def account_ended(error: BaseException, role: str,
                  account: str = MAIN) -> AccountEnded | None:
    """What ``error``, met by the ``role`` client (for ``user``: the watching account
    ``account``), means for tgmon: the account was ended (its channels move to the
    other accounts, or tgmon stops; say why), or None (an ordinary failure, handled
    where it happened)."""
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
    if found is None:
        return None
    if role != "user":
        return AccountEnded(role, code, *found)
    named = "" if account == MAIN else f" {account}"
    option = "" if account == MAIN else f" --account {account}"
    what, advice = found
    return AccountEnded(role, code, what.format(account=named),
                        advice.format(option=option), account)


class AccountEndedError(TgmonError):
    """``tgmon run`` stops: Telegram ended the bot, or the last of its watching accounts
    (``accounts``: how many it ran with). One line, the reason."""

    def __init__(self, ended: AccountEnded, accounts: int = 1) -> None:
        none_left = "no watching account is left: " if accounts > 1 else ""
        super().__init__(f"tgmon stopped: {none_left}{ended.reason}")
        self.ended = ended
