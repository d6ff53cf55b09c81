"""Rules over the stored log through the word index: the index names candidate posts,
the matcher verifies them (imperative shell around :mod:`bot.rules.postwords`).

A rule's :func:`~bot.rules.postwords.plan` becomes an FTS5 expression over the tokens
of each month of the period: its keys become the vocabulary's words that have them,
``from:`` the channels of that name, ``word*`` a prefix of every word. Posts the index
files under it are candidates; so is every post still waiting to be indexed (new, or
edited since), so an answer never depends on how far the indexer got. A candidate is
analysed (its words' keys come from the vocabulary, not the dictionaries) and matched,
unless the plan is exact: then being filed under it is the match.

Without a usable index (never built, or built by another analysis) every post of the
period is a candidate: the answer is the same, only slower.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

import re2

from bot.rules import postwords as pw
from bot.rules.analysis import AnalysedText, analyse, regex_text
from bot.rules.indexer import vocabulary_lookup
from bot.rules.parser import regex_options
from bot.rules.postwords import INDEX_VERSION, NAMESPACES, Formula, SearchPlan
from storage import word_index as wi
from storage.db import Database
from storage.models import StoredPost
from storage.posts import POST_SELECT, stored_post_from_row

T = TypeVar("T")
CHUNK = 500                 # candidates checked per call on the database thread


class _Resolver:
    """Turns formulas into FTS5 expressions, looking up each key set once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._terms: dict[frozenset[str], list[tuple[str, bool]]] = {}

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
                elif k.startswith(pw.REGEX_KEY):
                    raise ValueError(f"a regex is not in the index: {k}")
            found = self._terms[keys] = sorted(out)
        return found

    def expression(self, formula: Formula, bucket: str) -> str | None:
        """The FTS5 expression of ``formula`` in one month (None: no post can have it)."""
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


def period_expression(conn: sqlite3.Connection, formula: Formula, since: datetime,
                      until: datetime) -> str | None:
    """The FTS5 expression of ``formula`` over every month of the period."""
    resolver = _Resolver(conn)
    found = [e for e in (resolver.expression(formula, b) for b in wi.buckets(since, until)) if e]
    return " OR ".join(f"({e})" for e in found) if found else None


@dataclass(frozen=True)
class Checked(Generic[T]):
    """A candidate the matcher verified."""

    stored: StoredPost
    result: T


def check(conn: sqlite3.Connection, ids: Sequence[int],
          matcher: Callable[[AnalysedText], T | None], use_vocabulary: bool
          ) -> dict[int, Checked[T]]:
    """Analyse and match the posts ``ids`` (on the database thread); those that match."""
    lookup = vocabulary_lookup(conn) if use_vocabulary else None
    rows = conn.execute(f"{POST_SELECT} WHERE p.id IN (SELECT value FROM json_each(?))",
                        (f"[{','.join(map(str, ids))}]",)).fetchall()
    out: dict[int, Checked[T]] = {}
    for row in rows:
        analysed = analyse(row["text"], channel=row["channel_username"],
                           channel_id=row["channel_id"], lookup=lookup)
        result = matcher(analysed)
        if result:
            out[row["id"]] = Checked(stored_post_from_row(row), result)
    return out


@dataclass(frozen=True)
class Found(Generic[T]):
    """A post of the period that matched: with the post and match result when asked
    for (an exact plan counts posts without reading them)."""

    post_id: int
    deleted: bool
    checked: Checked[T] | None


def _regex_candidates(conn: sqlite3.Connection, regexes: Sequence[str], since: datetime,
                      until: datetime, channel_ids: Sequence[int] | None
                      ) -> list[wi.Candidate]:
    """Posts of the period whose text one of the regexes finds (read once each)."""
    compiled = [re2.compile(r, regex_options()) for r in regexes]
    return [wi.Candidate(pid, date, deleted, True)
            for pid, date, deleted, text in wi.window_texts(conn, since, until, channel_ids)
            if any(r.search(regex_text(text)) for r in compiled)]


def candidates(conn: sqlite3.Connection, plan: SearchPlan, since: datetime, until: datetime,
               channel_ids: Sequence[int] | None) -> list[wi.Candidate]:
    """The plan's candidates in the period, newest first (pending posts are checked)."""
    match = None if plan.formula is None else period_expression(conn, plan.formula, since,
                                                                 until)
    found = wi.indexed_candidates(conn, match, since, until, channel_ids)
    if plan.regexes:
        seen = {c.post_id for c in found}
        found += [c for c in _regex_candidates(conn, plan.regexes, since, until, channel_ids)
                  if c.post_id not in seen]
        found.sort(key=lambda c: (c.date, c.post_id), reverse=True)
    return found


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
    return await db.run(lambda conn: wi.count_window(conn, since, until, channel_ids))
