"""``tgmon stats``: per channel, what the log holds and which message ids it misses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from storage.stats import ChannelStats

ORDER = 52


class StatsError(TgmonError):
    pass


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "stats", parents=[common], help="per-channel counts, dates and message-id holes",
        description="For each channel: posts stored, first and last post date (UTC), last "
                    "message id, edited and deleted posts, and holes: message ids between the "
                    "first and last known id that tgmon never saw (service messages and ids "
                    "known to be deleted are not holes).")
    p.add_argument("--channel", action="append", default=[], metavar="NAME_OR_ID",
                   help="only this channel (username or id); repeat for several")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--ranges", type=int, default=5, metavar="N",
                   help="hole ranges to show per channel (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from storage.channels import find_channel
    from storage.db import open_database
    from storage.stats import log_stats

    if args.ranges < 0:
        raise StatsError("--ranges must be 0 or more")
    db = await open_database(settings.db_path, must_exist=True)
    try:
        ids = []
        for ref in args.channel:
            found = await find_channel(db, ref)
            if found is None:
                raise StatsError(f"unknown channel {ref!r}: see tgmon stats for the channels "
                                 "in the log")
            ids.append(found.channel_id)
        stats = await log_stats(db, ids, keep=args.ranges)
    finally:
        await db.close()
    if args.json:
        import json
        print(json.dumps(stats_json(stats), ensure_ascii=False, indent=2))
    else:
        print(format_stats(stats))
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
