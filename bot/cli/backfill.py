"""``tgmon backfill [CHANNEL...] (--since DATE | --limit N)``: read older history of
watched channels into the log, resumably, with a progress bar on a terminal."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from config.errors import TgmonError
from config.settings import Settings

if TYPE_CHECKING:
    from bot.progress import ProgressBar
    from bot.telegram.clients import Client, ClientFactory
    from bot.watcher.backfill import Goal, Outcome, Progress
    from storage.db import Database
    from storage.watchlist import WatchEntry

ORDER = 30


class BackfillError(TgmonError):
    pass


def _count(text: str) -> int:
    if not text.strip().isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "backfill", parents=[common], help="read older history of watched channels",
        description="Read the older history of watched channels (all of them, or those "
                    "named) into the log, newest first, below what it already holds. "
                    "Resumable: a second run continues where the first stopped. Posts are "
                    "stored with capture path 'backfill'. Uses the watching account's "
                    "session, so it cannot run while `tgmon run` does.")
    p.add_argument("channels", nargs="*", metavar="CHANNEL",
                   help="watched channels by username (default: every watched channel)")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--since", metavar="DATE",
                      help="read back to this date: YYYY-MM-DD or an ISO 8601 timestamp "
                           "(no offset means UTC)")
    goal.add_argument("--limit", type=_count, metavar="N",
                      help="read N more older messages per channel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:

    from bot.cli._signals import run_command
    from bot.cli.run import MissingCredentialsError
    from bot.logs import setup_logging
    from bot.telegram.clients import telegram_client_factory
    from bot.watcher.backfill import Goal
    from bot.watcher.session import require_login
    from config.dates import parse_when

    since = parse_when(args.since, "--since") if args.since else None
    if settings.api_id is None or not settings.api_hash:
        raise MissingCredentialsError(
            "tgmon backfill needs TGMON_API_ID and TGMON_API_HASH (from "
            "https://my.telegram.org) in .env or the environment")
    factory = telegram_client_factory(settings)          # TGMON_SERVER(_KEY) checked
    require_login(settings.user_session)
    setup_logging("WARNING", [settings.api_hash, settings.bot_token])
    outcomes = run_command(backfill(settings, factory, args.channels,
                                    Goal(since=since, limit=args.limit),
                                    progress=terminal_progress))
    for line in summary(outcomes):
        print(line)
    return 0


def terminal_progress(name: str, total: int | None) -> ProgressBar:
    from bot.progress import progress_bar

    return progress_bar(total, name, " msg", leave=True)


async def backfill(settings: Settings, make_client: ClientFactory, refs: Sequence[str],
                   goal: Goal, *, progress: Progress | None = None,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC),
                   wait_time: float = 1.0, db: Database | None = None) -> list[Outcome]:
    """Backfill the watched channels named in ``refs`` (all if empty) with the user
    client ``make_client`` builds, into ``db`` (default: the settings' database).
    Holds the session lock throughout."""
    from bot.progress import no_progress
    from bot.runtime import NotAuthorizedError
    from bot.watcher.backfill import backfill_channel
    from bot.watcher.component import config_channels
    from bot.watcher.session import SessionLock
    from storage.db import open_database
    from storage.dbfile import SESSION_PLACE, make_private_dir
    from storage.watchlist import live_entries, sync_config

    make_private_dir(settings.session_dir, "the session files", SESSION_PLACE)
    with SessionLock(settings.user_session):
        own = db is None
        if db is None:
            db = await open_database(settings.db_path)
        try:
            await sync_config(db, config_channels(settings), now())
            entries = await _chosen(db, refs, await live_entries(db))
            client = make_client("user", settings.user_session)
            await client.connect()
            try:
                if not await client.is_user_authorized():
                    raise NotAuthorizedError(
                        f"the user session {settings.user_session}.session is not logged in: "
                        "run `tgmon login` once in a terminal")
                outcomes = []
                for entry in entries:
                    entry = await _resolved(client, db, entry, now)
                    outcomes.append(await backfill_channel(
                        client, db, entry, goal, now=now, progress=progress or no_progress,
                        wait_time=wait_time))
                return outcomes
            finally:
                await client.disconnect()
        finally:
            if own:
                await db.close()


async def _chosen(db: Database, refs: Sequence[str],
                  entries: list[WatchEntry]) -> list[WatchEntry]:
    from config.channels import normalize_username
    from storage.watchlist import find_entry

    if not refs:
        if not entries:
            raise BackfillError("no channels are watched: list them in the channels file "
                                "(or TGMON_WATCH), or add them with /watch")
        return entries
    chosen = []
    for ref in refs:
        entry = await find_entry(db, normalize_username(ref))
        if entry is None:
            raise BackfillError(f"{ref} is not a watched channel: add it to the channels "
                                "file (or TGMON_WATCH) or with /watch, then backfill it")
        chosen.append(entry)
    return chosen


async def _resolved(client: Client, db: Database, entry: WatchEntry,
                    now: Callable[[], datetime]) -> WatchEntry:
    """The entry with its channel id and access hash, looking the username up once if
    tgmon never did."""
    from bot.telegram.errors import wait_seconds
    from bot.telegram.requests import resolve_once
    from storage.channels import save_channel
    from storage.watchlist import find_entry, set_resolved

    if entry.resolved:
        return entry
    try:
        found = await resolve_once(client, entry.username)
    except Exception as e:
        seconds = wait_seconds(e)
        if seconds is None:
            raise
        raise BackfillError(f"Telegram asks to wait {seconds} s before looking up "
                            f"@{entry.username}; try again later") from None
    if found.status != "ok" or found.access is None:
        raise BackfillError(f"cannot backfill @{entry.username}: {found.detail}")
    await save_channel(db, found.access.channel, now())
    await set_resolved(db, entry.id, found.access.channel.channel_id,
                       found.access.access_hash, now())
    return await find_entry(db, entry.username) or entry


def summary(outcomes: Sequence[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        name = f"@{o.username}"
        if not o.read:
            lines.append(f"{name}: nothing older to read"
                         + (" (its history is complete)" if o.complete else ""))
            continue
        back = f"back to {o.oldest:%Y-%m-%d %H:%M} UTC" if o.oldest else "back"
        line = (f"{name}: {o.read:,} messages read, {o.stored.new:,} new posts; {back} "
                f"(message {o.floor:,})")
        if o.complete:
            line += "; reached the channel's first message"
        if o.waited:
            line += f"; waited {o.waited:,.0f} s for Telegram"
        lines.append(line)
    return lines
