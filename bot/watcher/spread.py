"""Which watching account holds which channel (pure: no I/O).

Each watched channel is held by one account, so Telegram pushes its posts to exactly
one client. An account joins at most its join limit (``TGMON_JOIN_LIMIT``); a channel
beyond every account's limit is polled (history reads on the reconcile schedule) by the
account polling fewest, so polls spread over the accounts' budgets. A new channel goes
to the account with the most room. Channels move when their account is lost, and a
polled channel moves to an account with room to join it (one logged in since); never
for balance alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape

JOINED = "joined"
POLLED = "polled"
NAMES_SHOWN = 20            # channels named per destination in the admins' message


@dataclass(frozen=True)
class Load:
    """What one running account holds."""

    account: str
    limit: int                  # channels it may join (lower once Telegram said it is full)
    joined: int = 0             # channels it holds to join
    polled: int = 0             # channels it holds to poll

    @property
    def room(self) -> int:
        return max(self.limit - self.joined, 0)


def loads(accounts: Sequence[str], held: Mapping[tuple[str | None, str | None], int],
          limit: int, full: Mapping[str, int] | None = None) -> list[Load]:
    """The loads of the running ``accounts`` (in order, main first) from how many
    channels each holds per mode (``held``: ``(account, mode) -> count``); ``full``:
    accounts Telegram refused a join to, with how many they had joined then."""
    full = full or {}
    return [Load(a, min(limit, full.get(a, limit)), joined=held.get((a, JOINED), 0),
                 polled=held.get((a, POLLED), 0)) for a in accounts]


def place(current: Sequence[Load]) -> tuple[str, str]:
    """``(account, mode)`` for one more channel: the account with the most room joins
    it; when none has room, the account polling fewest polls it. Ties go to the earlier
    account (``main`` first)."""
    if not current:
        raise ValueError("no watching account to place a channel on")
    order = {load.account: i for i, load in enumerate(current)}
    best = max(current, key=lambda c: (c.room, -order[c.account]))
    if best.room > 0:
        return best.account, JOINED
    fewest = min(current, key=lambda c: (c.polled, order[c.account]))
    return fewest.account, POLLED


def place_all(count: int, current: Sequence[Load]) -> tuple[list[tuple[str, str]], list[Load]]:
    """Places for ``count`` channels, one after the other (each placement counts for the
    next), and the loads after them."""
    now = list(current)
    out = []
    for _ in range(count):
        account, mode = place(now)
        out.append((account, mode))
        now = [replace(c, joined=c.joined + 1) if c.account == account and mode == JOINED
               else replace(c, polled=c.polled + 1) if c.account == account else c
               for c in now]
    return out, now


def promotions(polled: Sequence[tuple[int, str]],
               current: Sequence[Load]) -> list[tuple[int, str]]:
    """Polled channels (``(entry id, holder)``, in order) that an account with room joins
    instead: ``(entry id, account)`` each: its holder if it has room now (no move, no
    look-up), else the account with the most room (ties: the earlier one), until no
    account has room. Only polled channels move, and only to be joined: never for
    balance alone."""
    now = {c.account: c for c in current}
    order = {c.account: i for i, c in enumerate(current)}
    out = []
    for entry_id, holder in polled:
        mine = now.get(holder)
        best = mine if mine is not None and mine.room > 0 else \
            max(now.values(), key=lambda c: (c.room, -order[c.account]), default=None)
        if best is None or best.room <= 0:
            break
        out.append((entry_id, best.account))
        now[best.account] = replace(now[best.account], joined=now[best.account].joined + 1)
        if holder in now:
            now[holder] = replace(now[holder], polled=max(now[holder].polled - 1, 0))
    return out


@dataclass(frozen=True)
class Moved:
    name: str                   # how the channel is named (@username)
    to: str
    mode: str


def moved_notice(account: str, reason: str, moved: Sequence[Moved],
                 left: Sequence[str]) -> str:
    """The admins' one message about a lost account (HTML, escaped): which account, what
    happened and what to do (``reason``), and where its channels went."""
    head = (f"⚠️ <b>Watching account {escape(account)} lost</b>: "
            f"{escape(reason.replace('`', ''))}.")
    if not moved:
        body = "\nIt held no channels; nothing moved."
    else:
        groups: dict[tuple[str, str], list[str]] = {}
        for m in moved:
            groups.setdefault((m.to, m.mode), []).append(m.name)
        parts = []
        for (to, mode), names in groups.items():
            shown = ", ".join(escape(n) for n in names[:NAMES_SHOWN])
            more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
            parts.append(f"→ <b>{escape(to)}</b> ({mode}): {shown}{more}")
        body = (f"\nIts {_count(len(moved), 'channel')} moved, each read on from where "
                "capture stopped:\n" + "\n".join(parts))
    return f"{head}{body}\nStill watching with: {escape(', '.join(left))}."


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"
