"""Trying a rule on the stored log: what ``/test``, ``/alert`` and ``tgmon rules test``
show.

The imperative shell around the pure core: the word index names the candidate posts
of the period and the matcher verifies them (:mod:`bot.rules.backtest`), newest first.
The answers are those of matching every post of the period. ``now`` is always passed
in.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.rules.backtest import count_period, search
from bot.rules.compiler import CompiledRule, compile_rule
from bot.rules.match import Match
from bot.rules.postwords import search_plan
from storage.db import Database
from storage.models import StoredPost

TEST_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Found:
    """A stored post the rule matches."""

    post: StoredPost
    match: Match

    @property
    def deleted(self) -> bool:
        return self.post.deleted_at is not None


@dataclass(frozen=True)
class RuleTrial:
    """How a rule fared over a period of the log."""

    rule: CompiledRule
    since: datetime
    until: datetime
    scanned: int                  # posts in the period
    matched: int                  # of which the rule matches
    deleted: int                  # of the matched, tombstoned since
    latest: tuple[Found, ...]     # the newest matches, newest first


def default_period(now: datetime) -> tuple[datetime, datetime]:
    """The last 30 days up to ``now``."""
    return now - TEST_WINDOW, now


async def matching_posts(db: Database, rule: CompiledRule, since: datetime,
                         until: datetime) -> AsyncGenerator[Found, None]:
    """Every post of the period the rule matches, newest first."""
    async with aclosing(search(db, search_plan(rule), rule.match, since, until)) as found:
        async for f in found:
            assert f.checked is not None
            yield Found(f.checked.stored, f.checked.result)


async def try_rule(db: Database, rule: str | CompiledRule, since: datetime,
                   until: datetime, limit: int = 5) -> RuleTrial:
    """Count the posts of ``[since, until)`` the rule matches and keep the ``limit``
    newest. Raises :class:`~bot.rules.errors.RuleSyntaxError` for a malformed rule
    before reading anything."""
    compiled = compile_rule(rule) if isinstance(rule, str) else rule
    matched = deleted = 0
    latest: list[Found] = []
    async with aclosing(search(db, search_plan(compiled), compiled.match, since, until,
                               want_post=lambda n: n < limit)) as found:
        async for f in found:
            matched += 1
            deleted += f.deleted
            if f.checked is not None and len(latest) < limit:
                latest.append(Found(f.checked.stored, f.checked.result))
    scanned = await count_period(db, since, until)
    return RuleTrial(compiled, since, until, scanned, matched, deleted, tuple(latest))
