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
                    "stored with capture path 'backfill'. Each channel is read by the "
                    "watching account that holds it, with its session, so it cannot run "
                    "while `tgmon run` does.")
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
    from bot.watcher.session import logged_in_accounts, require_login
    from config.dates import parse_when

    since = parse_when(args.since, "--since") if args.since else None
    if settings.api_id is None or not settings.api_hash:
        raise MissingCredentialsError(
            "tgmon backfill needs TGMON_API_ID and TGMON_API_HASH (from "
            "https://my.telegram.org) in .env or the environment")
    factory = telegram_client_factory(settings)          # TGMON_SERVER(_KEY) checked
    accounts = logged_in_accounts(settings)
    require_login(settings.account_session(accounts[0]), accounts[0])
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
                   wait_time: float = 1.0, db: Database | None = None,
                   accounts: Sequence[str] | None = None) -> list[Outcome]:
    """Backfill the watched channels named in ``refs`` (all if empty), each with the
    client of the watching account that holds it (``accounts``: those logged in,
    default: found in the session directory; a channel whose account is not among them
    is read by the first), into ``db`` (default: the settings' database). Holds the
    accounts' session locks throughout."""
    from contextlib import ExitStack

    from bot.progress import no_progress
    from bot.watcher.backfill import backfill_channel
    from bot.watcher.component import config_channels
    from bot.watcher.session import SessionLock, logged_in_accounts
    from storage.db import open_database
    from storage.dbfile import SESSION_PLACE, make_private_dir
    from storage.watchlist import live_entries, sync_config

    names = list(accounts or logged_in_accounts(settings))
    make_private_dir(settings.session_dir, "the session files", SESSION_PLACE)
    with ExitStack() as locks:
        for name in names:
            locks.enter_context(SessionLock(settings.account_session(name)))
        own = db is None
        if db is None:
            db = await open_database(settings.db_path)
        clients: dict[str, Client] = {}
        try:
            await sync_config(db, config_channels(settings), now())
            entries = await _chosen(db, refs, await live_entries(db))
            outcomes = []
            for entry in entries:
                account = entry.account if entry.account in names else names[0]
                client = clients.get(account)
                if client is None:
                    client = clients[account] = await _connected(settings, make_client,
                                                                 account)
                entry = await _resolved(client, db, entry, account, now)
                outcomes.append(await backfill_channel(
                    client, db, entry, goal, now=now, progress=progress or no_progress,
                    wait_time=wait_time, account=account))
            return outcomes
        finally:
            for client in clients.values():
                await client.disconnect()
            if own:
                await db.close()


async def _connected(settings: Settings, make_client: ClientFactory, account: str) -> Client:
    from bot.runtime import NotAuthorizedError
    from config.accounts import MAIN

    base = settings.account_session(account)
    client = make_client("user", base, account)
    await client.connect()
    if not await client.is_user_authorized():
        await client.disconnect()
        option = "" if account == MAIN else f" --account {account}"
        raise NotAuthorizedError(f"the user session {base}.session is not logged in: run "
                                 f"`tgmon login{option}` once in a terminal")
    return client


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


async def _resolved(client: Client, db: Database, entry: WatchEntry, account: str,
                    now: Callable[[], datetime]) -> WatchEntry:
    """The entry with its channel id and ``account``'s access hash, looking the username
    up once with that account if it never did."""
    from dataclasses import replace

    from bot.telegram.errors import wait_seconds
    from bot.telegram.requests import resolve_once
    from storage.channels import save_channel
    from storage.watchlist import access_hash_of, save_access, set_resolved

    if entry.resolved and entry.account == account:
        return entry
    if entry.channel_id is not None:
        known = await access_hash_of(db, account, entry.channel_id)
        if known is not None:
            return replace(entry, access_hash=known)
    try:
        found = await resolve_once(client, entry.lookup_name)
    except Exception as e:
        seconds = wait_seconds(e)
        if seconds is None:
            raise
        raise BackfillError(f"Telegram asks to wait {seconds} s before looking up "
                            f"@{entry.username}; try again later") from None
    if found.status != "ok" or found.access is None:
        raise BackfillError(f"cannot backfill @{entry.username}: {found.detail}")
    cid, access_hash = found.access.channel.channel_id, found.access.access_hash
    if entry.channel_id not in (None, cid):
        raise BackfillError(f"cannot backfill @{entry.username}: the name belongs to another "
                            "channel now")
    await save_channel(db, found.access.channel, now())
    if entry.channel_id is None:
        await set_resolved(db, entry.id, cid, access_hash, now(), account)
    else:
        await save_access(db, account, cid, access_hash, now())
    return replace(entry, channel_id=cid, access_hash=access_hash)


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
