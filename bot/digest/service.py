"""The digest's imperative shell: read the period from the database, build, render.

This is what a scheduler or a bot command calls. Everything but the reading is pure
(``build_digest``, ``render_*``, ``render_chart``), so the same digest can be rebuilt
and checked from the same log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from bot.digest.build import DigestStyle, build_digest
from bot.digest.model import Digest
from bot.digest.render_telegram import chart_caption, render_telegram
from bot.digest.rule_matches import RuleMatches, RuleTally
from storage.db import Database
from storage.digest_queries import DigestLimits, Period, gather_material, stream_period_posts
from storage.models import Channel, StoredPost


@dataclass(frozen=True)
class DigestRule:
    """A subscriber's rule as the digest needs it: its text and a predicate."""

    label: str
    matches: Callable[[StoredPost], bool]


@dataclass(frozen=True)
class PreparedDigest:
    digest: Digest
    messages: tuple[str, ...]        # HTML for parse_mode="html", in order
    chart_png: bytes | None          # send as a photo with chart_caption
    chart_caption: str


async def match_rules(db: Database, period: Period, channel_ids: Sequence[int] | None,
                      rules: Sequence[DigestRule]) -> tuple[RuleMatches, ...]:
    """Stream the period's posts once and tally what each rule matched."""
    tally = RuleTally([r.label for r in rules])
    if rules:
        async for post in stream_period_posts(db, period, channel_ids):
            for i, rule in enumerate(rules):
                if rule.matches(post):
                    tally.add(i, post)
    return tally.result()


async def prepare_digest(db: Database, period: Period, tz: tzinfo, *,
                         channel_ids: Sequence[int] | None = None,
                         rules: Sequence[DigestRule] | None = None,
                         unreadable: Sequence[tuple[Channel, str]] = (),
                         limits: DigestLimits | None = None, style: DigestStyle | None = None,
                         chart: bool = True) -> PreparedDigest:
    """Gather, build and render one subscriber's digest.

    ``channel_ids``: the subscriber's channels (None: every channel in the log).
    ``rules``: the subscriber's rules (None: no rules section). ``unreadable``: channels
    the watcher could not read, with the reason. The chart is drawn in this thread
    (a few hundred milliseconds); pass ``chart=False`` and call
    ``bot.digest.chart.render_chart`` elsewhere to draw it off the event loop.
    """
    material = await gather_material(db, period, channel_ids, limits)
    hits = None if rules is None else await match_rules(db, period, channel_ids, rules)
    digest = build_digest(material, rules=hits, unreadable=unreadable, style=style)
    png = None
    if chart:
        from bot.digest.chart import render_chart
        png = render_chart(digest, tz)
    return PreparedDigest(digest, tuple(render_telegram(digest, tz)), png,
                          chart_caption(digest, tz))
