"""``tgmon rules test RULE``: what a rule would have matched in the stored log."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cli._signals import run_command
from config.dates import DateOptionError, earlier, parse_when
from config.errors import TgmonError
from config.settings import Settings

ORDER = 40
EXCERPT = 110


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "rules", help="try alert rules on the stored log",
        description="Alert rules (the language is described in docs/rules.md).")
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    test = sub.add_parser(
        "test", parents=[common], help="count and list the stored posts a rule matches",
        description="What /test does, over the whole stored log of the period: how many "
                    "posts the rule matches, and the latest of them. A rule that starts "
                    "with - goes after --: tgmon rules test -- '-реклама курск'.")
    test.add_argument("rule", nargs="+", metavar="RULE",
                      help="the rule (quote it; several arguments are joined by spaces)")
    test.add_argument("--since", metavar="DATE",
                      help="first day or time (default: 30 days before --until)")
    test.add_argument("--until", metavar="DATE",
                      help="last day, inclusive, or time, exclusive (default: now)")
    test.add_argument("--limit", type=int, default=10, metavar="N",
                      help="how many of the latest matches to show (default: 10)")
    test.add_argument("--json", action="store_true",
                      help="one JSON object per matching post, newest first")
    test.set_defaults(func=run_test)


def run_test(args: argparse.Namespace, settings: Settings,
             now: datetime | None = None) -> int:
    from bot.rules import RuleSyntaxError, compile_rule

    text = " ".join(args.rule)
    try:
        rule = compile_rule(text)
    except RuleSyntaxError as e:
        print(f"tgmon: error: {e}", file=sys.stderr)
        print(e.pointer(), file=sys.stderr)
        return 2
    now = now or datetime.now(UTC)
    until = parse_when(args.until, "--until", end=True) if args.until else now
    since = (parse_when(args.since, "--since") if args.since
             else earlier(until, timedelta(days=30)))
    if since >= until:
        raise DateOptionError(f"--since ({since:%Y-%m-%d %H:%M}) must be before --until "
                        f"({until:%Y-%m-%d %H:%M})")
    if args.limit < 0:
        raise TgmonError("--limit must be 0 or more")
    return run_command(_test(settings, rule, since, until, args))


async def _test(settings: Settings, rule: Any, since: datetime, until: datetime,
                args: argparse.Namespace) -> int:
    from bot.cli.index import note_index_lag
    from bot.rules.backtest import count_period
    from bot.rules.trial import matching_posts, try_rule
    from storage.db import open_database
    from storage.timefmt import to_db

    db = await open_database(settings.db_path, read_only=True)
    try:
        await note_index_lag(db)
        if args.json:
            matched = 0
            # aclosing: if stdout goes away (| head), the search stops before the database.
            async with aclosing(matching_posts(db, rule, since, until)) as results:
                async for found in results:
                    matched += 1
                    stored = found.post
                    post = stored.post
                    print(json.dumps({
                        "channel": stored.channel.username or str(post.channel_id),
                        "channel_id": post.channel_id, "message_id": post.message_id,
                        "date": to_db(post.date), "url": stored.url,
                    }, ensure_ascii=False))
            if not matched and args.since is None and not await count_period(db, since, until):
                await _note_older_posts(db, since)
            return 0
        trial = await try_rule(db, rule, since, until, limit=args.limit)
        if not trial.scanned and args.since is None:
            await _note_older_posts(db, since)
    finally:
        await db.close()
    print(f"rule:    {rule.text}")
    print(f"period:  {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC")
    deleted = f", {trial.deleted} of them deleted since" if trial.deleted else ""
    print(f"matched: {trial.matched} of {trial.scanned} stored posts{deleted}")
    for found in trial.latest:
        post, channel = found.post.post, found.post.channel
        name = f"@{channel.username}" if channel.username else (channel.title or "")
        mark = "  [deleted]" if found.deleted else ""
        print(f"\n{post.date:%Y-%m-%d %H:%M}  {name}  {found.post.url}{mark}")
        print(f"  {excerpt(post.text, found.match.spans)}")
        print(f"  why: {found.match.reason}")
    return 0


async def _note_older_posts(db: Any, since: datetime) -> None:
    """The default window held no post: say what the log holds before it."""
    from storage.search import posts_before

    older = await posts_before(db, since)
    if older.count and older.first and older.last:
        print(f"tgmon: note: the 30 days tested hold no posts; the log holds "
              f"{older.count:,} older posts ({older.first:%Y-%m-%d} to "
              f"{older.last:%Y-%m-%d}): add --since {older.first:%Y-%m-%d} to test them",
              file=sys.stderr)


def excerpt(text: str, spans: tuple[tuple[int, int], ...], width: int = EXCERPT) -> str:
    """About ``width`` characters of ``text`` around its first matched span, on one line."""
    start = spans[0][0] if spans else 0
    left = max(0, start - width // 3)
    piece = " ".join(text[left:left + width].split())
    return ("…" if left > 0 else "") + piece + ("…" if left + width < len(text) else "")
