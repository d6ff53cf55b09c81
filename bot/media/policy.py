"""What the downloader does with a queued item and after a failed download: pure
functions of the item, the settings, the classified error and the time (like
:mod:`bot.delivery.retry` for the sender)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.telegram.errors import Action, Failure
from config.sizes import human_size

MAX_ATTEMPTS = 8                # Telegram refusing a file this often: it failed
MAX_REFRESHES = 3               # fresh references that did not work either
RESERVE = 64 << 20              # disk space always left free beside the archive
NETWORK_BACKOFF_MAX = 300.0     # seconds between tries while Telegram cannot be reached
# An alert of a photo post waits this long (from the post's capture) for its photo to be
# downloaded, then goes as text; the alert dispatcher waits as long to see the photo's
# perceptual hash (the same picture posted by another channel is one story).
PHOTO_WAIT = 15.0
# seconds an item waits, untried, for its channel's account: a lost account's channel
# moving to another, the new holder looking it up, an account ended under a download
HOLDER_WAIT = 60.0


def admit(kind: str, size: int | None, kinds: tuple[str, ...],
          max_size: int) -> tuple[str, str] | None:
    """``(status, reason)`` for an item not to download, or None to download it."""
    if kind not in kinds:
        return "skipped", f"{kind} is not in TGMON_MEDIA ({','.join(kinds) or 'off'})"
    if size is not None and size > max_size:
        return "too_large", (f"{human_size(size)} is over TGMON_MEDIA_MAX_SIZE "
                             f"({human_size(max_size)})")
    return None


def lack_of_space(size: int | None, stored: int, in_flight: int, budget: int | None,
                  free: int) -> tuple[str, str] | None:
    """``(reason, detail)`` when a file of ``size`` bytes must not be started: it would
    pass the budget, or leave less than :data:`RESERVE` on the disk. ``in_flight``:
    bytes of downloads under way (their space is taken already)."""
    need = size or 0
    if budget is not None and stored + in_flight + need > budget:
        return "budget", (f"the archive holds {human_size(stored)} of its "
                          f"{human_size(budget)} budget (TGMON_MEDIA_BUDGET), and the next "
                          f"file is {human_size(need)}")
    if free - need < RESERVE:
        return "disk_full", (f"{human_size(free)} left on the disk of the media directory, "
                             f"and the next file is {human_size(need)}")
    return None


def photo_alert(status: str | None, path_exists: bool, queued_at: datetime | None,
                now: datetime, *, paused: bool = False) -> str:
    """How an alert of a photo post goes now: ``photo`` (the file is there), ``wait``
    (it is being downloaded, and the wait is not over) or ``text`` (also at once while
    downloads are paused for want of space: the photo would not come in time)."""
    if status == "done" and path_exists:
        return "photo"
    if status == "pending" and not paused and queued_at is not None and \
            now < queued_at + timedelta(seconds=PHOTO_WAIT):
        return "wait"
    return "text"


@dataclass(frozen=True)
class Source:
    """Which watching account fetches an item's file now (``account``, with its access
    hash of the channel for reading the post again), or why none does: ``wait`` (the
    item waits :data:`HOLDER_WAIT`, untried) or ``fail`` (no account can read it)."""

    account: str | None = None
    access_hash: int | None = None
    reread: bool = False        # the item's location is another account's: read the post
    wait: str | None = None     # again with this one first (its own file reference)
    fail: str | None = None


def source(item_account: str | None, holder: str | None, watched: bool,
           running: Sequence[str], hashes: Mapping[str, int]) -> Source:
    """Who fetches a file whose location (access hash, file reference) is valid for
    ``item_account`` (None: not known; taken as the holder's), in a channel held by
    ``holder`` (``watched``: a live entry, so a lost holder's channel moves), with the
    ``running`` accounts and each account's access hash of the channel (``hashes``).

    The account that read the post, while it runs; else the channel's holder, reading
    the post again for a location of its own; while a live channel's holder is lost (it
    moves within a reconcile interval) or has not looked the channel up, the item waits;
    a channel no longer watched is read by any running account that has looked it up;
    else no account can read it."""
    def able(account: str | None) -> bool:
        return account is not None and account in running and account in hashes

    if not running:
        return Source(wait="no watching account is running")
    if able(item_account):
        assert item_account is not None
        return Source(item_account, hashes[item_account])
    if able(holder):
        assert holder is not None
        return Source(holder, hashes[holder], reread=item_account not in (None, holder))
    if watched and holder is not None:
        if holder in running:
            return Source(wait=f"the channel's account {holder} has not looked it up yet")
        return Source(wait=f"the channel's account {holder} was lost: waiting for the "
                           "channel to move to another account")
    other = next((a for a in running if a in hashes), None)
    if other is not None:
        return Source(other, hashes[other], reread=True)
    if watched:
        return Source(wait="no watching account holds the channel yet")
    lost = holder or item_account
    why = (f"its account {lost} was lost" if lost is not None and lost not in running
           else "no running account has looked it up")
    return Source(fail=f"no watching account can read the channel: {why}, and the "
                       "channel is no longer watched")


class Step(StrEnum):
    PAUSE = "pause"             # Telegram asks every download to wait until ``until``
    REFRESH = "refresh"         # read the message again for a fresh file reference
    RETRY = "retry"             # try this item again at ``until``
    FAILED = "failed"           # give this item up, and say why
    STOP = "stop"               # the account ended: try again at ``until`` (another
                                # account, once its channel moved; or the app stops)


@dataclass(frozen=True)
class Next:
    step: Step
    reason: str = ""
    until: datetime | None = None
    counts: bool = True         # an attempt of the item's (network trouble is not)


def after_failure(failed: Failure, attempts: int, refreshes: int, now: datetime, *,
                  network_tries: int = 0) -> Next:
    """The next step for an item whose download failed with ``failed`` after
    ``attempts`` earlier attempts, ``refreshes`` fresh references in this try and
    ``network_tries`` failures of the network in a row."""
    match failed.action:
        case Action.PAUSE:
            return Next(Step.PAUSE, f"FLOOD_WAIT_{failed.seconds}",
                        now + timedelta(seconds=failed.seconds), counts=False)
        case Action.REFRESH:
            if refreshes >= MAX_REFRESHES:
                return Next(Step.FAILED, f"{failed.error} even with a fresh file reference")
            return Next(Step.REFRESH, failed.detail, counts=False)
        case Action.STOP_ACCOUNT:
            # the account ended: the app lets it go (its channels move) or stops
            return Next(Step.STOP, failed.detail, now + timedelta(seconds=HOLDER_WAIT),
                        counts=False)
        case Action.DROP_CHAT:
            return Next(Step.FAILED, f"the channel cannot be read ({failed.error})")
    if failed.action is Action.OFFLINE or (not failed.telegram and failed.action is Action.RETRY):
        # The network: not the file's fault, however long it lasts.
        delay = min(5.0 * 2 ** min(network_tries, 6), NETWORK_BACKOFF_MAX)
        return Next(Step.RETRY, failed.detail, now + timedelta(seconds=delay), counts=False)
    if attempts + 1 >= MAX_ATTEMPTS:
        return Next(Step.FAILED, failed.detail)
    return Next(Step.RETRY, failed.detail,
                now + timedelta(seconds=min(2 ** attempts * 5, 3600)))
