"""Rules over the stored log through the word index: the index names candidate posts,
the matcher verifies them (imperative shell around :mod:`bot.rules.postwords`).

A rule's :func:`~bot.rules.postwords.plan` is evaluated over the posts of the period:
its key sets become an FTS5 expression over the tokens of each month (keys become the
vocabulary's words that have them, ``from:`` the channels of that name, ``word*`` a
prefix of every word); its regexes are searched in the texts of the posts in question
(for a regex nothing else narrows down: the posts filed under a word holding a piece of
it and those marked apart, or else all of the period) and its phrases read from the
words of the posts with all of theirs (:mod:`bot.rules.textscan`). Every post
still waiting to be indexed (new, or edited since) is a candidate too, so an answer
never depends on how far the indexer got. A candidate is analysed (its words' keys
come from the vocabulary, not the dictionaries) and matched, unless the plan is exact:
then satisfying it is the match, and only the posts shown are analysed (to explain).

Without a usable index (never built, or built by another analysis) every post of the
period is a candidate: the answer is the same, only slower.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Generic, TypeVar

from bot.rules import postwords as pw
from bot.rules.analysis import AnalysedText, analyse
from bot.rules.indexer import vocabulary_lookup
from bot.rules.postwords import APART, INDEX_VERSION, NAMESPACES, Formula, SearchPlan
from bot.rules.textscan import adjacent_hits, regex_hits, regex_pieces
from storage import word_index as wi
from storage.db import Database
from storage.models import StoredPost
from storage.posts import POST_SELECT, stored_post_from_row

T = TypeVar("T")
CHUNK = 500                 # candidates checked per call on the database thread
MAX_PIECE_WORDS = 2_000     # words a regex's piece may be in and still narrow a search


def _ids_json(ids: Iterable[int]) -> str:
    return f"[{','.join(map(str, ids))}]"


class _Evaluator:
    """Evaluates formulas over the indexed posts of a period (on the database thread)."""

    def __init__(self, conn: sqlite3.Connection, since: datetime, until: datetime,
                 channel_ids: Sequence[int] | None) -> None:
        self.conn = conn
        self.since, self.until = since, until
        self.channel_ids = channel_ids
        self.buckets = wi.buckets(conn, since, until)
        self._terms: dict[frozenset[str], list[tuple[str, bool]]] = {}
        self._scanned: dict[str, set[int]] = {}

    # -- the index --

    def terms(self, keys: frozenset[str]) -> list[tuple[str, bool]]:
        """``(word, is_prefix)`` the post must be filed under one of."""
        found = self._terms.get(keys)
        if found is None:
            out: set[tuple[str, bool]] = set()
            words = [k for k in keys if pw.is_word_key(k)]
            out.update((w, False) for w in wi.words_with_keys(self.conn, words))
            for k in keys:
                if k.startswith(pw.TAG_KEY):
                    out.add((pw.TAG + k[len(pw.TAG_KEY):], False))
                elif k.startswith(pw.CHANNEL_ID_KEY):
                    out.add((pw.CHANNEL + k[len(pw.CHANNEL_ID_KEY):], False))
                elif k.startswith(pw.CHANNEL_KEY):
                    out.update((f"{pw.CHANNEL}{cid}", False)
                               for cid in wi.channels_named(self.conn, k[len(pw.CHANNEL_KEY):]))
                elif k.startswith(pw.PREFIX_KEY):
                    out.update((ns + k[len(pw.PREFIX_KEY):], True) for ns in NAMESPACES.values())
            found = self._terms[keys] = sorted(out)
        return found

    def expression(self, formula: Formula, bucket: str) -> str | None:
        """The FTS5 expression of a formula without regexes in one month (None: no post
        can satisfy it)."""
        match formula:
            case pw.Has(keys=keys):
                terms = [f'"{bucket}{wi.token(w)}"' + (" *" if prefix else "")
                         for w, prefix in self.terms(keys)]
                return " OR ".join(terms) if terms else None
            case pw.AnyOf(parts=parts):
                some = [e for e in (self.expression(p, bucket) for p in parts) if e]
                return " OR ".join(f"({e})" for e in some) if some else None
            case pw.AllOf(parts=parts):
                every = [self.expression(p, bucket) for p in parts]
                if any(e is None for e in every):
                    return None
                return " AND ".join(f"({e})" for e in every if e)
            case pw.Without(have=have, lack=lack):
                yes = self.expression(have, bucket)
                no = self.expression(lack, bucket)
                if yes is None or no is None:
                    return yes
                return f"({yes}) NOT ({no})"
        raise TypeError(formula)

    def indexed(self, formula: Formula) -> set[int]:
        """Posts of the period the index files under a formula without regexes."""
        found = [e for e in (self.expression(formula, b) for b in self.buckets) if e]
        if not found:
            return set()
        return set(wi.indexed_posts(self.conn, " OR ".join(f"({e})" for e in found),
                                    self.since, self.until, self.channel_ids))

    # -- texts: regexes and phrases (bot.rules.textscan), a chunk of posts at a time --

    def scan(self, pattern: str) -> set[int]:
        """Posts of the period whose text the regex finds something in: those filed
        under a word with a piece of it (or marked apart), or else every post."""
        found = self._scanned.get(pattern)
        if found is None:
            words = self.words_with_pieces(pattern)
            if words is None:
                rows = wi.window_blobs(self.conn, self.since, self.until, self.channel_ids)
            else:
                rows = wi.blobs(self.conn, self.filed_under(words))
            found = self._scanned[pattern] = self._regex(rows, pattern)
        return found

    def words_with_pieces(self, pattern: str) -> list[str] | None:
        """The vocabulary's words holding one of the regex's pieces (None: it names
        none, or they are too many to narrow the search down)."""
        pieces = regex_pieces(pattern)
        if pieces is None:
            return None
        words: set[str] = set()
        for piece in pieces:
            found = wi.words_containing(self.conn, piece, MAX_PIECE_WORDS - len(words))
            if found is None:
                return None
            words.update(found)
        return sorted(words)

    def filed_under(self, words: list[str]) -> set[int]:
        """Posts of the period filed under one of ``words`` or marked apart."""
        terms = [*(wi.token(w) for w in words), APART]
        found = " OR ".join(f'"{b}{t}"' for b in self.buckets for t in terms)
        if not found:
            return set()
        return set(wi.indexed_posts(self.conn, found, self.since, self.until,
                                    self.channel_ids))

    def finds(self, ids: set[int], pattern: str) -> set[int]:
        """Of posts ``ids``, those the regex finds something in."""
        return self._regex(wi.blobs(self.conn, ids), pattern)

    @staticmethod
    def _regex(rows: Iterable[tuple[int, bytes]], pattern: str) -> set[int]:
        """Ids of the rows whose text the regex finds something in."""
        out: set[int] = set()
        for ids, blobs in _chunks(rows):
            out.update(ids[i] for i in regex_hits(pattern, blobs))
        return out

    def adjacent(self, parts: tuple[frozenset[str], ...], within: set[int] | None = None
                 ) -> set[int]:
        """The posts of the period (of ``within``, if given) with the phrase's words
        adjacent: of those the index files under every word, the ones read to have them
        in a row."""
        ids = self.indexed(pw.AllOf(tuple(pw.Has(p) for p in parts)))
        if within is not None:
            ids &= within
        forms = self.forms(parts)
        out: set[int] = set()
        if not ids or not forms:
            return out
        for chunk, texts in _chunks(wi.texts(self.conn, ids)):
            out.update(chunk[i] for i in adjacent_hits(forms, texts))
        return out

    def forms(self, parts: tuple[frozenset[str], ...]
              ) -> dict[str, tuple[frozenset[str], ...]]:
        """Per namespace, the forms the vocabulary files under each part's keys (where
        every part has some)."""
        terms = [self.terms(p) for p in parts]
        out = {}
        for ns in NAMESPACES.values():
            sets = tuple(frozenset(w[len(ns):] for w, prefix in t
                                   if not prefix and w.startswith(ns)) for t in terms)
            if all(sets):
                out[ns] = sets
        return out

    # -- formulas --

    def evaluate(self, formula: Formula) -> set[int]:
        """The indexed posts of the period that satisfy the formula."""
        if not pw.reads_text(formula):
            return self.indexed(formula)
        match formula:
            case pw.Finds(pattern=pattern):
                return self.scan(pattern)
            case pw.Adjacent(parts=parts):
                return self.adjacent(parts)
            case pw.AnyOf(parts=parts):
                plain = [p for p in parts if not pw.reads_text(p)]
                out = self.indexed(pw.AnyOf(tuple(plain))) if plain else set()
                for p in parts:
                    if pw.reads_text(p):
                        out |= self.evaluate(p)
                return out
            case pw.AllOf(parts=parts):
                plain = [p for p in parts if not pw.reads_text(p)]
                rest = [p for p in parts if pw.reads_text(p)]
                if plain:
                    found = self.indexed(pw.AllOf(tuple(plain)))
                else:
                    found = self.evaluate(rest.pop(0))
                for p in rest:
                    found = self.keep(found, p)
                return found
            case pw.Without(have=have, lack=lack):
                found = self.evaluate(have)
                return found - self.keep(found, lack)
        raise TypeError(formula)

    def keep(self, ids: set[int], formula: Formula) -> set[int]:
        """Those of ``ids`` that satisfy the formula."""
        if not ids:
            return ids
        if not pw.reads_text(formula):
            return ids & self.indexed(formula)
        match formula:
            case pw.Finds(pattern=pattern):
                if pattern in self._scanned:
                    return ids & self._scanned[pattern]
                return self.finds(ids, pattern)
            case pw.Adjacent(parts=parts):
                return self.adjacent(parts, ids)
            case pw.AnyOf(parts=parts):
                out: set[int] = set()
                for p in parts:
                    out |= self.keep(ids - out, p)
                return out
            case pw.AllOf(parts=parts):
                for p in parts:
                    ids = self.keep(ids, p)
                return ids
            case pw.Without(have=have, lack=lack):
                found = self.keep(ids, have)
                return found - self.keep(found, lack)
        raise TypeError(formula)


def _chunks(rows: Iterable[tuple[int, T]], size: int = 8_000
            ) -> Iterator[tuple[list[int], list[T]]]:
    """Streamed ``(id, value)`` rows as lists of ``size`` ids and values."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield [r[0] for r in chunk], [r[1] for r in chunk]


def candidates(conn: sqlite3.Connection, plan: SearchPlan, since: datetime, until: datetime,
               channel_ids: Sequence[int] | None) -> list[wi.Candidate]:
    """The plan's candidates in the period, newest first: the indexed posts that satisfy
    it, and every pending post (to be checked)."""
    if plan.formula is None:            # nothing to narrow down: every post of the period
        found = set(wi.window_ids(conn, since, until, channel_ids))
    else:
        found = _Evaluator(conn, since, until, channel_ids).evaluate(plan.formula)
    return wi.candidates(conn, found, since, until, channel_ids)


@dataclass(frozen=True)
class Checked(Generic[T]):
    """A candidate the matcher verified, with its row (read into a post on demand)."""

    row: sqlite3.Row
    result: T

    @property
    def stored(self) -> StoredPost:
        return stored_post_from_row(self.row)


def check(conn: sqlite3.Connection, ids: Sequence[int],
          matcher: Callable[[AnalysedText], T | None], use_vocabulary: bool
          ) -> dict[int, Checked[T]]:
    """Analyse and match the posts ``ids`` (on the database thread); those that match."""
    lookup = vocabulary_lookup(conn) if use_vocabulary else None
    rows = conn.execute(f"{POST_SELECT} WHERE p.id IN (SELECT value FROM json_each(?))",
                        (_ids_json(ids),)).fetchall()
    out: dict[int, Checked[T]] = {}
    for row in rows:
        analysed = analyse(row["text"], channel=row["channel_username"],
                           channel_id=row["channel_id"], lookup=lookup)
        result = matcher(analysed)
        if result:
            out[row["id"]] = Checked(row, result)
    return out


@dataclass(frozen=True)
class Found(Generic[T]):
    """A post of the period that matched: with its row and match result when asked for
    (an exact plan counts posts without reading them)."""

    post_id: int
    deleted: bool
    checked: Checked[T] | None


async def search(db: Database, plan: SearchPlan, matcher: Callable[[AnalysedText], T | None],
                 since: datetime, until: datetime, channel_ids: Sequence[int] | None = None,
                 want_post: Callable[[int], bool] = lambda _n: True
                 ) -> AsyncGenerator[Found[T], None]:
    """The posts of ``[since, until)`` (of ``channel_ids``, None: all) the matcher
    accepts, newest first. ``want_post(n)``: whether the n-th match (0-based) needs its
    post and match result (true for the first matches only, say n < 5); under an exact
    plan the others are counted unread."""
    if await db.run(wi.index_version) != INDEX_VERSION:
        async with aclosing(_scan(db, matcher, since, until, channel_ids)) as scanned:
            async for found in scanned:
                yield found
        return
    listed = await db.run(partial(candidates, plan=plan, since=since, until=until,
                                  channel_ids=channel_ids))
    n = 0
    for start in range(0, len(listed), CHUNK):
        chunk = listed[start:start + CHUNK]
        todo = []
        sure = 0            # candidates before this one in the chunk that surely match
        for c in chunk:
            if c.pending or not plan.exact:
                todo.append(c.post_id)
            else:
                if want_post(n + sure):     # it is at least the (n + sure)-th match
                    todo.append(c.post_id)
                sure += 1
        checked: dict[int, Checked[T]] = await db.run(
            partial(check, ids=todo, matcher=matcher, use_vocabulary=True)) if todo else {}
        for c in chunk:
            hit = checked.get(c.post_id)
            if hit is None and (c.pending or not plan.exact):
                continue
            yield Found(c.post_id, c.deleted, hit)
            n += 1


async def _scan(db: Database, matcher: Callable[[AnalysedText], T | None], since: datetime,
                until: datetime, channel_ids: Sequence[int] | None
                ) -> AsyncGenerator[Found[T], None]:
    """Without a usable index: every post of the period is checked, a page at a time."""
    before: tuple[str, int] | None = None
    while True:
        page = await db.run(partial(wi.window_candidates, since=since, until=until,
                                    channel_ids=channel_ids, before=before, limit=CHUNK))
        if not page:
            return
        checked: dict[int, Checked[T]] = await db.run(partial(
            check, ids=[c.post_id for c in page], matcher=matcher, use_vocabulary=False))
        for c in page:
            hit = checked.get(c.post_id)
            if hit is not None:
                yield Found(c.post_id, c.deleted, hit)
        before = (page[-1].date, page[-1].post_id)


async def count_period(db: Database, since: datetime, until: datetime,
                       channel_ids: Sequence[int] | None = None) -> int:
    return await db.run(partial(wi.count_window, since=since, until=until,
                                channel_ids=channel_ids))

