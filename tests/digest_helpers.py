"""Shared set-up of the scheduled-digest and /export tests: a watch list, a log of
posts, people, and ways to wait on the simulated Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.app import default_components
from bot.digest.build import DigestStyle, build_digest
from bot.digest.model import Digest
from bot.digest.render_telegram import chart_caption, render_telegram
from bot.digest.rule_matches import TOP_MATCHES, RuleMatches, RuleTally
from bot.digest.scheduling.compose import Composed, DigestCache, DigestRequest, compose_many
from bot.sim.vclock import sleep_until
from config.settings import Settings
from storage.channels import save_channel
from storage.db import Database, open_database
from storage.digest_queries import DigestLimits, Period, gather_material, stream_period_posts
from storage.models import CapturePath, Channel, Post, StoredPost
from storage.posts import save_posts
from storage.watchlist import find_entry, set_resolved, sync_config

ADMIN, ANNA, BORIS, CARL, IVAN = 100, 200, 300, 400, 500
LEGION = Channel(777, "legionoffreedom", "Легион «Свобода России»")
RYBAR = Channel(888, "rybar", "Рыбарь")


def without_watcher():
    """tgmon's components but the watcher: these tests seed the log and the watch list
    themselves, and a watcher would re-check the seeded posts against a simulated
    Telegram that never published them (and tombstone them)."""
    return [c for c in default_components() if c.name != "watcher"]


def people(sim):
    w = sim.world
    return {uid: w.add_user(name, handle, id=uid) for uid, name, handle in (
        (ADMIN, "Админ", "boss"), (ANNA, "Анна", "anna_osint"), (BORIS, "Борис", "boris"),
        (CARL, "Carl", "carl"), (IVAN, "Иван", "ivan"))}


def settings(sim, **kw):
    base = dict(admins=frozenset({ADMIN}), allowlist=frozenset({ANNA, BORIS, CARL}),
                access="allowlist")
    base.update(kw)
    return sim.settings(**base)


def hourly_posts(channel: Channel, start: datetime, hours: int, *, first_id: int = 1,
                 text: str = "Сводка за час {n}", per_hour: int = 1) -> list[Post]:
    posts = []
    n = first_id
    for h in range(hours):
        for k in range(per_hour):
            date = start + timedelta(hours=h, minutes=k * 60 // per_hour)
            posts.append(Post(channel.channel_id, n, date, text.format(n=n), views=100 + n))
            n += 1
    return posts


async def seed(s, now: datetime, channels: Sequence[Channel] = (LEGION, RYBAR),
               posts: Sequence[Post] = ()) -> None:
    """A resolved watch list of ``channels`` and ``posts`` in the log (before the app runs,
    or while it runs: its own connection, closed after)."""
    db = await open_database(s.db_path)
    try:
        await sync_config(db, [(c.username or "", c.title or "") for c in channels], now)
        for c in channels:
            await save_channel(db, c, now)
            entry = await find_entry(db, c.username or "")
            assert entry is not None
            await set_resolved(db, entry.id, c.channel_id, 555, now)
        by_channel: dict[int, list[Post]] = {}
        for p in posts:
            by_channel.setdefault(p.channel_id, []).append(p)
        for cid, batch in by_channel.items():
            await save_posts(db, batch, CapturePath.LIVE, now,
                             next(c for c in channels if c.channel_id == cid))
    finally:
        await db.close()




async def until(moment: datetime) -> None:
    """Let the app run (virtual time) until ``moment``; a moment past is no wait."""
    await sleep_until(moment)
    await asyncio.sleep(0)


def digests(sim, chat_id):
    """The messages of the bot's digests in a chat (texts and chart photos)."""
    return [m for m in sim.world.sent_by_bot(chat_id)
            if m.text.startswith("tgmon digest") or (m.file or {}).get("name") == "digest.png"]


def heads(sim, chat_id):
    """The first message of each digest in a chat."""
    return [m for m in sim.world.sent_by_bot(chat_id) if m.text.startswith("tgmon digest")]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- one digest, built alone from the pure parts ------------------------------------
# The reference the app's pipeline (bot.digest.scheduling.compose) is checked against.

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


def tally_rules(rules: Sequence[tuple[str, Callable[[StoredPost], bool]]],
                posts: Iterable[StoredPost], top: int = TOP_MATCHES) -> tuple[RuleMatches, ...]:
    """Match every post against every ``(label, predicate)`` rule (posts already in memory)."""
    tally = RuleTally([label for label, _ in rules], top)
    for post in posts:
        for i, (_, matches) in enumerate(rules):
            if matches(post):
                tally.add(i, post)
    return tally.result()


async def compose(db: Database, settings: Settings, chat_id: int, tz_name: str | None,
                  period: Period, *, cache: DigestCache | None = None,
                  now: datetime | None = None) -> Composed:
    """One chat's digest of ``period`` (see :func:`compose_many`)."""
    request = DigestRequest(chat_id, tz_name or settings.timezone, period)
    return (await compose_many(db, [request], cache=cache, now=now))[chat_id]
