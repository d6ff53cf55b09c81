"""Telegram's errors, classified into what tgmon does about them.

Every part of tgmon that talks to Telegram (the watcher's reads, joins and look-ups,
the sender, backfill) hands the exception it met to :func:`classify` and acts on the
:class:`Failure` it gets: wait as long as Telegram says before asking that kind of
request again, retry later, stop writing to a chat or mark a channel that cannot be
reached, stop because Telegram ended the account, or fix the message. Nothing outside
this package needs Telethon's exception classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telethon import errors

from bot.telegram.account_end import account_ended


class Action(StrEnum):
    PAUSE = "pause"                 # Telegram asks to wait: hold this kind of request
    RETRY = "retry"                 # may pass: try again later, with backoff
    OFFLINE = "offline"             # Telegram cannot be reached: nobody's fault, wait
    DROP_CHAT = "drop chat"         # the chat or channel cannot be reached (see ``state``)
    STOP_ACCOUNT = "stop account"   # Telegram ended the account (bot.telegram.account_end)
    TOO_LONG = "too long"           # the message does not fit: send it shorter
    MOOT = "moot"                   # the message an edit is for cannot be edited
    UNCHANGED = "unchanged"         # the edit changes nothing: it is done
    REFRESH = "refresh"             # a file reference expired: read the message again
    FAIL = "fail"                   # not an answer of Telegram's: a bug, or the unexpected


# Telegram's error -> the state it leaves the chat or channel in. The watcher marks a
# watched channel ``private`` or ``gone`` (storage.watchlist); the sender stops writing
# to a chat in any of these states.
UNREACHABLE: dict[type[Exception], str] = {
    errors.ChannelPrivateError: "private",
    errors.ChannelInvalidError: "gone",
    errors.UserIsBlockedError: "blocked",
    errors.InputUserDeactivatedError: "deactivated",
    errors.UserDeactivatedError: "deactivated",
    errors.ChatWriteForbiddenError: "forbidden",
    errors.ChatAdminRequiredError: "forbidden",
    errors.PeerIdInvalidError: "unknown",
}
_TOO_LONG = (errors.MessageTooLongError, errors.MediaCaptionTooLongError,
             errors.EntityBoundsInvalidError)
_MOOT = (errors.MessageIdInvalidError, errors.MessageEditTimeExpiredError,
         errors.MessageAuthorRequiredError)
# A file's location no longer works as given (docs/media.md): a fresh one comes with the
# message, read again.
_REFRESH = (errors.FileReferenceExpiredError, errors.FilerefUpgradeNeededError,
            errors.FileReferenceInvalidError, errors.FileIdInvalidError,
            errors.LocationInvalidError)
# Waits Telegram asks for: FLOOD_WAIT_X, and FLOOD_PREMIUM_WAIT_X (downloads slowed for
# accounts without Premium; not an error of the file).
_WAITS = (errors.FloodWaitError, errors.FloodPremiumWaitError)
# The network (or a proxy in between) broke the connection (bot.reconnect.UNREACHABLE).
_NETWORK = (ConnectionError, OSError, TimeoutError)
# What may pass: any other answer of Telegram's.
_PASSING = (errors.RPCError, ValueError)


@dataclass(frozen=True)
class Failure:
    action: Action
    error: str                      # the exception's class, e.g. FloodWaitError
    detail: str = ""                # "Class: message", cut to 200 characters
    seconds: int = 0                # PAUSE: how long Telegram asks to wait
    state: str | None = None        # DROP_CHAT: see UNREACHABLE
    telegram: bool = False          # Telegram answered (an RPC error), not the network


def classify(error: BaseException, role: str = "user") -> Failure:
    """What ``error``, met by the ``role`` client (``user`` or ``bot``), asks tgmon to do."""
    name = type(error).__name__
    detail = f"{name}: {error}"[:200]
    telegram = isinstance(error, errors.RPCError)
    if isinstance(error, _WAITS):
        return Failure(Action.PAUSE, name, detail, seconds=error.seconds, telegram=True)
    state = next((s for cls, s in UNREACHABLE.items() if isinstance(error, cls)), None)
    if state is not None:
        return Failure(Action.DROP_CHAT, name, detail, state=state, telegram=True)
    if isinstance(error, _TOO_LONG):
        action = Action.TOO_LONG
    elif isinstance(error, errors.MessageNotModifiedError):
        action = Action.UNCHANGED
    elif isinstance(error, _MOOT):
        action = Action.MOOT
    elif isinstance(error, _REFRESH):
        action = Action.REFRESH
    elif account_ended(error, role) is not None:
        action = Action.STOP_ACCOUNT
    elif isinstance(error, _NETWORK):
        action = Action.OFFLINE
    elif isinstance(error, _PASSING):
        action = Action.RETRY
    else:
        action = Action.FAIL
    return Failure(action, name, detail, telegram=telegram)


def wait_seconds(error: BaseException) -> int | None:
    """How long Telegram asks to wait, if ``error`` is a flood wait."""
    return error.seconds if isinstance(error, _WAITS) else None
