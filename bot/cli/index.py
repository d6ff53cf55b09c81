"""``tgmon index``: fill the word index that rule backtests read (resumable)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

ORDER = 45
# Pending posts a backtest checks itself rather than waiting for the index.
CHECK_PENDING_UP_TO = 2_000


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "index", parents=[common], help="build the word index of the stored posts",
        description="Analyse the stored posts not yet in the word index (new, edited, or "
                    "all of them after an upgrade) and file them, with a progress bar. "
                    "Stop it at any time: the next run (or tgmon run, or tgmon rules test) "
                    "goes on where it stopped. Rule backtests use the index; until it is "
                    "complete they check the posts it lacks one by one.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(settings))


async def _run(settings: Settings) -> int:
    from storage.db import open_database

    db = await open_database(settings.db_path, must_exist=True)
    try:
        filed = await finish_index(db, at_least=1)
    finally:
        await db.close()
    print(f"word index: {filed:,} posts indexed, none left")
    return 0


async def finish_index(db: Database, at_least: int = CHECK_PENDING_UP_TO + 1) -> int:
    """Index the pending posts (with a progress bar on a terminal) when there are at
    least ``at_least`` of them or the index is of another analysis; a database tgmon
    may not write is left as it is (searches then check the posts themselves)."""
    from tqdm import tqdm

    from bot.rules import indexer

    try:
        left = await indexer.pending(db)
        if left < at_least and await indexer.index_ready(db):
            return 0
        await indexer.prepare(db)
        left = await indexer.pending(db)
        # disable=None: a bar on a terminal, nothing when stderr is a file or a pipe
        with tqdm(total=left, desc="word index", unit=" posts", unit_scale=True,
                  file=sys.stderr, disable=None) as bar:
            return await indexer.index_pending(db, progress=bar.update)
    except sqlite3.OperationalError as e:
        if "readonly" not in str(e):
            raise
        return 0
