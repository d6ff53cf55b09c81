"""``tgmon index``: fill the word index that rule backtests read (resumable)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

ORDER = 45
# Posts waiting for the index that a backtest checks without a word about it.
QUIET_PENDING = 2_000


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "index", parents=[common], help="build the word index of the stored posts",
        description="Analyse the stored posts not yet in the word index (new, edited, or "
                    "all of them after an upgrade) and file them, with a progress bar. "
                    "Stop it at any time: the next run (or tgmon run) goes on where it "
                    "stopped. Rule backtests use the index; until it is complete they check "
                    "the posts it lacks one by one (the same answers, slower).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli._signals import run_command
    return run_command(_run(settings))


async def _run(settings: Settings) -> int:
    from bot.rules import indexer
    from storage.db import open_database

    db = await open_database(settings.db_path, must_exist=True)
    try:
        filed = await finish_index(db)
        left = await indexer.pending(db)
    finally:
        await db.close()
    print(f"word index: {filed:,} posts indexed, {f'{left:,}' if left else 'none'} left")
    return 0


async def finish_index(db: Database) -> int:
    """Index every pending post (a new index of this analysis first, when the stored one
    is of another), with a progress bar on a terminal; returns how many were filed."""
    from tqdm import tqdm

    from bot.rules import indexer

    await indexer.prepare(db)
    # disable=None: a bar on a terminal, nothing when stderr is a file or a pipe
    with tqdm(total=await indexer.pending(db), desc="word index", unit=" posts",
              unit_scale=True, file=sys.stderr, disable=None) as bar:
        return await indexer.index_pending(db, progress=bar.update)


async def note_index_lag(db: Database) -> None:
    """One line on stderr when many posts are not in the word index (reading commands
    do not write: a backtest then checks those posts one by one, the same answers
    slower). A small log is fast either way: nothing is said."""
    from bot.rules import indexer

    if not await indexer.index_ready(db):
        row = await db.fetchone("SELECT max(id) FROM posts")     # about how many posts
        if row is None or (row[0] or 0) <= QUIET_PENDING:
            return
        print("tgmon: note: the word index is not built for this version of tgmon: this "
              "answer checks every post of the period (slow on a big log); run tgmon index "
              "once to build it", file=sys.stderr)
        return
    left = await indexer.pending(db)
    if left > QUIET_PENDING:
        print(f"tgmon: note: {left:,} posts are not in the word index yet (tgmon run indexes "
              "them as it goes, tgmon index at once); this answer checks them one by one",
              file=sys.stderr)
