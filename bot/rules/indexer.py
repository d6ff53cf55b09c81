"""Filling the word index: posts waiting in ``words_pending`` are analysed and filed, a
batch per transaction, so an interrupted run goes on where it stopped (migration 0013).

New and edited posts are queued by triggers; a stored index of another analysis
version (:data:`~bot.rules.postwords.INDEX_VERSION`) is emptied and every post queued
again. The running app keeps up as posts arrive (:class:`WordIndexer`); ``tgmon
index`` and ``tgmon rules test`` fill it with a progress bar. Analysis runs on the
database thread with the vocabulary at hand, so a word the index knows costs a lookup,
not the dictionaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

from bot.rules.analysis import KeyLookup, analyse
from bot.rules.postwords import INDEX_VERSION, namespace, post_words
from storage import word_index as wi
from storage.db import Database

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 500
OPTIMIZE_AFTER = 50_000        # posts filed in one run: then merge the index into one piece
_KNOWN_LIMIT = 1_000_000       # vocabulary words remembered as stored


def vocabulary_lookup(conn: sqlite3.Connection,
                      known: dict[str, set[str]] | None = None) -> KeyLookup:
    """Keys of words from the stored vocabulary, for :func:`analyse` (``known``: the
    forms found, by namespace, are noted there)."""
    def lookup(forms: list[str], languages: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
        ns = namespace(languages)
        found = {word[len(ns):]: keys
                 for word, keys in wi.known_keys(conn, [ns + f for f in forms]).items()}
        if known is not None:
            known.setdefault(ns, set()).update(found)
        return found
    return lookup


class _Filer:
    """Analyses pending posts; remembers which words the vocabulary has (forms by
    namespace)."""

    def __init__(self) -> None:
        self.known: dict[str, set[str]] = {}

    def analyse(self, conn: sqlite3.Connection, batch: Sequence[wi.PendingPost]
                ) -> tuple[list[wi.IndexedPost], dict[str, tuple[str, ...]]]:
        if sum(map(len, self.known.values())) > _KNOWN_LIMIT:
            self.known.clear()
        lookup = vocabulary_lookup(conn, self.known)
        new_words: dict[str, tuple[str, ...]] = {}
        done = []
        for p in batch:
            words = post_words(analyse(p.text, lookup=lookup), p.channel_id)
            known = self.known.setdefault(words.namespace, set())
            for form in words.forms - known:
                new_words[words.namespace + form] = words.keys[form]
            old = None
            if p.indexed_version is not None:
                if p.indexed_text is None:
                    raise RuntimeError(f"post {p.post_id}: version {p.indexed_version}, which "
                                       "the word index holds, is not stored")
                old_words = post_words(analyse(p.indexed_text, lookup=lookup), p.channel_id)
                old = wi.post_tokens(p.bucket, old_words.groups())
            done.append(wi.IndexedPost(p, wi.post_tokens(p.bucket, words.groups()), old))
        return done, new_words

    def write(self, conn: sqlite3.Connection, done: Sequence[wi.IndexedPost],
              new_words: dict[str, tuple[str, ...]]) -> int:
        filed = wi.write_batch(conn, done, new_words)
        for word in new_words:
            self.known.setdefault(word[:1], set()).add(word[1:])
        return filed


async def index_ready(db: Database) -> bool:
    """True when the stored index is one of this analysis (pending posts aside)."""
    return await db.run(wi.index_version) == INDEX_VERSION


async def pending(db: Database) -> int:
    return await db.run(wi.pending_count)


async def prepare(db: Database) -> None:
    """An index built by another analysis (or never built) is emptied and every post
    queued, in one transaction."""
    if await index_ready(db):
        return
    async with db.transaction():
        if await db.run(wi.index_version) != INDEX_VERSION:
            log.info("word index: rebuilding for analysis version %s", INDEX_VERSION)
            await db.run(partial(wi.reset, version=INDEX_VERSION))


async def index_pending(db: Database, *, batch: int = BATCH,
                        progress: Callable[[int], None] | None = None,
                        optimize: bool = True) -> int:
    """Analyse and file every pending post; returns how many were filed. Each batch is
    its own transaction: stop at any point and the next run goes on."""
    await prepare(db)
    filer = _Filer()
    after = filed = 0
    while True:
        todo = await db.run(partial(wi.pending_batch, after=after, limit=batch))
        if not todo:
            break
        done, new_words = await db.run(partial(filer.analyse, batch=todo))
        async with db.transaction():
            filed += await db.run(partial(filer.write, done=done, new_words=new_words))
        after = todo[-1].post_id
        if progress is not None:
            progress(len(todo))
    if optimize and filed >= OPTIMIZE_AFTER:
        async with db.transaction():
            await db.run(wi.optimize)
    return filed


class WordIndexer:
    """The app's component: files new and edited posts in the background, every few
    seconds, a small batch at a time (the database thread serves everyone)."""

    name = "indexer"
    INTERVAL = 20.0             # seconds between looks at the queue

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self, rt: Runtime) -> None:
        self._task = asyncio.create_task(self._run(rt.db), name="word-indexer")

    async def _run(self, db: Database) -> None:
        while True:
            try:
                left = await pending(db)
                if left or not await index_ready(db):
                    if left > 10 * BATCH:
                        log.info("word index: %d posts to index", left)
                    await index_pending(db, batch=100, optimize=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("word index: indexing failed; trying again later")
            await asyncio.sleep(self.INTERVAL)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
