"""``tgmon stats``: per channel, what the log holds and which message ids it misses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from storage.account_ends import AccountEnd
    from storage.accounts import AccountFigures
    from storage.capture import EventCounts
    from storage.coverage import ChannelCoverage
    from storage.stats import ChannelStats
    from storage.watchlist import WatchEntry

ORDER = 52


class StatsError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "stats", parents=[common], help="per-channel counts, holes and capture coverage",
        description="For each channel: posts stored, first and last post date (UTC), last "
                    "message id, edited and deleted posts, and holes: message ids between the "
                    "first and last known id that tgmon never saw (service messages and ids "
                    "known to be deleted are not holes). Then the capture's coverage per "
                    "channel: the id ranges captured, holes explained and not, the last "
                    "capture, posts per capture path, the watching account that holds it; and "
                    "watched channels tgmon cannot read. Then each watching account: the "
                    "channels it holds, joined and polled, its flood waits and failures of "
                    "the last 24 hours, its state. Last, accounts Telegram ended (revoked, "
                    "banned, deleted, bot token revoked) that are not back or ended in the "
                    "last 30 days.")
    p.add_argument("--channel", action="append", default=[], metavar="NAME_OR_ID",
                   help="only this channel (username or id); repeat for several")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--ranges", type=int, default=5, metavar="N",
                   help="hole ranges to show per channel (default 5)")
    p.add_argument("--recount", action="store_true",
                   help="count everything again from the stored posts instead of reading the "
                        "figures tgmon keeps as it writes (slow on a big log; the same numbers)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    return run_command(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._channels import channel_ids
    from storage.account_ends import recent_ends
    from storage.accounts import account_figures
    from storage.capture import event_counts
    from storage.coverage import log_coverage, recount_channel_coverage
    from storage.db import open_database
    from storage.stats import log_stats, recount_channel_stats
    from storage.watchlist import live_entries

    if args.ranges < 0:
        raise StatsError("--ranges must be 0 or more")
    db = await open_database(settings.db_path, read_only=True)
    try:
        ids = list(await channel_ids(db, args.channel))
        stats = await log_stats(db, ids, keep=args.ranges)
        keep = max(args.ranges, 1)
        if args.recount:
            stats = [await recount_channel_stats(db, s.channel, args.ranges) for s in stats]
            coverage = {s.channel.channel_id: await recount_channel_coverage(
                db, s.channel.channel_id, keep) for s in stats}
        else:
            coverage = await log_coverage(db, [s.channel.channel_id for s in stats], keep)
        watched = [e for e in await live_entries(db) if not ids or e.channel_id in ids]
        events = await event_counts(db)
        ends = await recent_ends(db, datetime.now(UTC) - timedelta(days=30))
        accounts = await account_figures(db, datetime.now(UTC) - timedelta(hours=24))
    finally:
        await db.close()
    if args.json:
        import json
        data = coverage_json(stats, coverage, watched, events)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_stats(stats))
        report = format_coverage(stats, coverage, watched, events, keep)
        if report:
            print(f"\n{report}")
        if accounts:
            print(f"\n{format_accounts(accounts)}")
        if ends:
            print(f"\n{format_account_ends(ends)}")
    return 0


# ---- formatting (pure) ---------------------------------------------------------------

def _name(s: ChannelStats) -> str:
    return f"@{s.channel.username}" if s.channel.username else str(s.channel.channel_id)


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def _num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def format_stats(stats: Sequence[ChannelStats]) -> str:
    if not stats:
        return "The log holds no channel yet."
    head = ("channel", "posts", "first post (UTC)", "last post (UTC)", "last id", "edited",
            "deleted", "holes")
    rows = [(_name(s), _num(s.posts), _when(s.first_date), _when(s.last_date),
             str(s.last_message_id or "-"), _num(s.edited), _num(s.deleted), _num(s.holes.count))
            for s in stats]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        # names and dates to the left, numbers to the right
        return "  ".join(c.ljust(w) if i in (0, 2, 3) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(head), *(line(r) for r in rows)]
    for s in stats:
        if s.holes.count:
            shown = ", ".join(str(r) for r in s.holes.ranges)
            more = f" (+{s.holes.more} more ranges)" if s.holes.more else ""
            out.append(f"holes in {_name(s)}: {_num(s.holes.count)} ids in "
                       f"{_num(s.holes.range_count)} ranges: {shown}{more}".rstrip(": "))
    return "\n".join(out)


def stats_json(stats: Sequence[ChannelStats]) -> list[dict[str, Any]]:
    from storage.timefmt import to_db_opt

    return [{
        "channel": s.channel.username or str(s.channel.channel_id),
        "channel_id": s.channel.channel_id, "title": s.channel.title, "posts": s.posts,
        "first_date": to_db_opt(s.first_date), "last_date": to_db_opt(s.last_date),
        "first_message_id": s.first_message_id, "last_message_id": s.last_message_id,
        "edited": s.edited, "with_versions": s.with_versions, "deleted": s.deleted,
        "absent": s.absent, "holes": s.holes.count, "hole_ranges": s.holes.range_count,
        "first_hole_ranges": [str(r) for r in s.holes.ranges],
    } for s in stats]


def format_accounts(accounts: Sequence[AccountFigures]) -> str:
    """Each watching account: what it holds, its last 24 hours, its state."""
    out = ["Watching accounts (flood waits and failures of the last 24 h):"]
    for a in accounts:
        if a.ended_code:
            state = f"ended ({a.ended_code}) {_when(a.ended_at)} UTC"
        elif a.last_started:
            state = f"active, last started {_when(a.last_started)} UTC"
        else:
            state = "not run yet"
        held = (f"holds {_count(a.held, 'channel')}: {_num(a.joined)} joined, "
                f"{_num(a.polled)} polled" + (f", {_num(a.joining)} to join" if a.joining
                                              else "")) if a.held else "holds no channel"
        out.append(f"  {a.name}: {state}; {held}; {_count(a.flood_waits, 'flood wait')}, "
                   f"{_count(a.failures, 'failure')}")
    return "\n".join(out)


def format_account_ends(ends: Sequence[AccountEnd]) -> str:
    """Accounts Telegram ended (not back yet, or in the last 30 days)."""
    out = ["Accounts Telegram ended:"]
    for e in ends:
        back = (f"running again since {_when(e.resumed_at)} UTC" if e.resumed_at
                else "tgmon has not run with it since")
        who = e.role if e.role != "user" else f"user {e.account or 'main'}"
        out.append(f"  {_when(e.at)} UTC {who}: {e.reason}; {back}")
    return "\n".join(out)


# ---- coverage of the capture (pure) -------------------------------------------------

_REASONS = {"deleted": "deleted on Telegram", "service": "service messages", "empty": "empty"}


def _coverage_lines(s: ChannelStats, c: ChannelCoverage, entry: WatchEntry | None,
                    events: EventCounts, keep: int) -> list[str]:
    state = f"watched, {entry.status}" if entry else "not watched"
    if entry is not None and entry.account is not None:
        state += f"; {entry.account}" + (f", {entry.mode}" if entry.mode else "")
    captured = (f"captured {c.captured.shown(keep)} ({_count(c.captured.count, 'post')} in "
                f"{_count(c.captured.runs, 'range')})" if c.captured.count else "captured nothing")
    explained = ", ".join(f"{_num(n)} {_REASONS.get(r, r)}" for r, n in c.explained.items())
    holes = (f"unexplained {_num(c.unexplained.count)}: {c.unexplained.shown(keep)}"
             if c.unexplained.count else "unexplained: none")
    paths = ", ".join(f"{p} {_num(n)}" for p, n in c.by_path.items()) or "-"
    last = f"{_when(c.last_capture)} UTC" if c.last_capture else "-"
    cid = s.channel.channel_id
    return [f"{_name(s)} ({state}): {captured}; explained: {explained or 'none'}; {holes}",
            f"  last capture {last}; by capture path: {paths}; "
            f"{_count(events.of(cid, 'flood_wait'), 'flood wait')}, "
            f"{_count(events.of(cid, 'error'), 'failure')}"]


def _count(n: int, what: str) -> str:
    return f"{_num(n)} {what}{'' if n == 1 else 's'}"


def format_coverage(stats: Sequence[ChannelStats], coverage: dict[int, ChannelCoverage],
                    watched: Sequence[WatchEntry], events: EventCounts, keep: int = 5) -> str:
    """Per channel, what the capture covers; then watched channels tgmon cannot read."""
    entries = {e.channel_id: e for e in watched if e.channel_id is not None}
    out: list[str] = []
    for s in stats:
        c = coverage[s.channel.channel_id]
        if c.first_id is not None or s.channel.channel_id in entries:
            out += _coverage_lines(s, c, entries.get(s.channel.channel_id), events, keep)
    for e in watched:
        if e.channel_id is None:
            out.append(f"@{e.username} (watched, {e.status}): "
                       f"{e.status_detail or 'not looked up yet'}")
    if not out:
        return ""
    return "\n".join(["Coverage (message ids from the first to the last one known):", *out,
                      "Reconnects of the watching account: "
                      f"{events.client.get('reconnect', 0)}"])


def coverage_json(stats: Sequence[ChannelStats], coverage: dict[int, ChannelCoverage],
                  watched: Sequence[WatchEntry], events: EventCounts) -> list[dict[str, Any]]:
    """:func:`stats_json` with each channel's ``watch`` state and ``coverage``, then the
    watched channels that are not in the log (not resolved, private, gone)."""
    from storage.timefmt import to_db_opt

    entries = {e.channel_id: e for e in watched if e.channel_id is not None}
    data = stats_json(stats)
    for item, s in zip(data, stats, strict=True):
        cid = s.channel.channel_id
        c, e = coverage[cid], entries.get(cid)
        item["watch"] = {"status": e.status, "detail": e.status_detail, "account": e.account,
                         "mode": e.mode} if e else None
        item["coverage"] = {
            "captured": c.captured.count, "captured_ranges": c.captured.runs,
            "first_captured_ranges": [str(r) for r in c.captured.first],
            "explained": c.explained, "unexplained": c.unexplained.count,
            "unexplained_ranges": c.unexplained.runs,
            "first_unexplained_ranges": [str(r) for r in c.unexplained.first],
            "by_capture_path": c.by_path, "last_capture": to_db_opt(c.last_capture),
            "flood_waits": events.of(cid, "flood_wait"), "failures": events.of(cid, "error"),
        }
    return data + [{"channel": e.username, "channel_id": None,
                    "watch": {"status": e.status, "detail": e.status_detail}, "coverage": None}
                   for e in watched if e.channel_id is None]
