"""Trying a rule on the stored log: what ``/test`` and ``tgmon rules test`` show.

The imperative shell around the pure core: posts stream from the database, newest
first, and each is analysed and matched as it arrives. ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.rules.analysis import analyse
from bot.rules.compiler import CompiledRule, compile_rule
from bot.rules.match import Match
from storage.db import Database
from storage.models import StoredPost
from storage.search import posts_between

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
                         until: datetime
                         ) -> AsyncGenerator[tuple[StoredPost, Match | None], None]:
    """Every post of the period, newest first, with the rule's match (or None)."""
    async with aclosing(posts_between(db, since, until)) as posts:
        async for stored in posts:
            analysed = analyse(stored.post.text, channel=stored.channel.username,
                               channel_id=stored.post.channel_id)
            yield stored, rule.match(analysed)


async def try_rule(db: Database, rule: str | CompiledRule, since: datetime,
                   until: datetime, limit: int = 5) -> RuleTrial:
    """Count the posts of ``[since, until)`` the rule matches and keep the ``limit``
    newest. Raises :class:`~bot.rules.errors.RuleSyntaxError` for a malformed rule
    before reading anything."""
    compiled = compile_rule(rule) if isinstance(rule, str) else rule
    scanned = matched = deleted = 0
    latest: list[Found] = []
    async with aclosing(matching_posts(db, compiled, since, until)) as results:
        async for stored, m in results:
            scanned += 1
            if m is None:
                continue
            matched += 1
            found = Found(stored, m)
            deleted += found.deleted
            if len(latest) < limit:
                latest.append(found)
    return RuleTrial(compiled, since, until, scanned, matched, deleted, tuple(latest))
