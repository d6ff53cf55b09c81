"""One chat's digest: what it covers (its channels and rules), built and rendered, then
put in the outbox together with the mark that it was sent, in one transaction."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.digest.scheduling.plan import zone
from bot.digest.service import DigestRule, PreparedDigest, prepare_digest
from bot.rules import AnalysedText, CompiledRule, RuleSyntaxError, analyse, compile_rule
from config.settings import Settings
from storage import outbox
from storage.db import Database
from storage.digest_queries import Period
from storage.digest_schedules import record_sent
from storage.models import Channel, StoredPost
from storage.subscriptions import SavedRule, live_rules, subscribed_channels
from storage.timefmt import to_db
from storage.watchlist import live_entries

CHART_NAME = "digest.png"


class _Analyses:
    """Analyses each post once however many rules ask (posts arrive one at a time)."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None
        self._value: AnalysedText | None = None

    def of(self, sp: StoredPost) -> AnalysedText:
        key = (sp.post.channel_id, sp.post.message_id, sp.version)
        if key != self._key or self._value is None:
            self._key = key
            self._value = analyse(sp.post.text, channel=sp.channel.username,
                                  channel_id=sp.post.channel_id)
        return self._value


def digest_rules(saved: Sequence[SavedRule]) -> list[DigestRule]:
    """A chat's live rules as the digest needs them; a rule that no longer compiles
    (the language changed since it was saved) is left out."""
    analyses = _Analyses()

    def predicate(rule: CompiledRule) -> Callable[[StoredPost], bool]:
        return lambda sp: rule.match(analyses.of(sp)) is not None

    rules = []
    for saved_rule in saved:
        try:
            compiled = compile_rule(saved_rule.text)
        except RuleSyntaxError:
            continue
        rules.append(DigestRule(saved_rule.text, predicate(compiled)))
    return rules


@dataclass(frozen=True)
class Coverage:
    """What a chat's digest covers."""

    channel_ids: tuple[int, ...]
    subscribed: bool                     # its own subscriptions (else the watch list)
    unreadable: tuple[tuple[Channel, str], ...]


async def coverage(db: Database, chat_id: int) -> Coverage:
    """The chat's subscriptions, or every resolved channel of the watch list if it has
    none; with the watch-list channels among them that cannot be read now."""
    entries = await live_entries(db)
    subscribed = tuple(c.channel_id for c in await subscribed_channels(db, chat_id))
    ids = subscribed or tuple(e.channel_id for e in entries if e.channel_id is not None)
    covered = set(ids)
    unreadable = tuple(
        (Channel(e.channel_id, e.username, e.title),
         f"{e.status}: {e.status_detail}" if e.status_detail else e.status)
        for e in entries if e.status != "ok" and e.channel_id in covered)
    return Coverage(ids, bool(subscribed), unreadable)


@dataclass(frozen=True)
class Composed:
    prepared: PreparedDigest
    chart_png: bytes | None              # None for a period without posts


class DigestCache:
    """Digests built in the last few minutes, by what they cover. Chats with the same
    channels, rules, zone and period (everyone on the defaults, at 08:00) get the same
    digest: it is built once. Entries expire soon, as posts captured late still
    change a period's digest."""

    def __init__(self, size: int = 8, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.size = size
        self.ttl = ttl
        self._items: OrderedDict[Hashable, tuple[datetime, Composed]] = OrderedDict()

    def get(self, key: Hashable, now: datetime) -> Composed | None:
        found = self._items.get(key)
        if found is None or now - found[0] > self.ttl:
            return None
        self._items.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, value: Composed, now: datetime) -> None:
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


async def compose(db: Database, settings: Settings, chat_id: int, tz_name: str | None,
                  period: Period, *, cache: DigestCache | None = None,
                  now: datetime | None = None) -> Composed:
    """Build and render the chat's digest of ``period``; the chart is drawn off the
    event loop (it takes a few hundred milliseconds). With a ``cache`` (and the
    ``now`` it is judged by), a digest that covers the same is built once."""
    from bot.digest.chart import render_chart

    name = tz_name or settings.timezone
    tz = zone(name)
    cover = await coverage(db, chat_id)
    saved = await live_rules(db, chat_id)
    key = (cover, tuple(r.text for r in saved), name, period)
    if cache is not None and now is not None and (hit := cache.get(key, now)) is not None:
        return hit
    prepared = await prepare_digest(
        db, period, tz, channel_ids=cover.channel_ids, rules=digest_rules(saved),
        unreadable=cover.unreadable, chart=False)
    png = None
    if prepared.digest.total_posts:
        png = await asyncio.to_thread(
            lambda: opaque_png(render_chart(prepared.digest, tz)))
    composed = Composed(prepared, png)
    if cache is not None and now is not None:
        cache.put(key, composed, now)
    return composed


def opaque_png(png: bytes) -> bytes:
    """The chart without its alpha channel (it is opaque anyway). Telethon re-encodes a
    photo with an alpha channel as JPEG, which blurs the chart's small print; an RGB
    PNG within Telegram's photo limits is uploaded as it is."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        if image.mode == "RGB":
            return png
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG", optimize=False)
        return out.getvalue()


def digest_messages(chat_id: int, identity: str, composed: Composed) -> list[outbox.OutMessage]:
    """The outbox messages of one digest, in sending order: the texts, then the chart.
    Their dedup keys derive from the digest's identity, so it is never enqueued twice."""
    key = f"digest:{chat_id}:{identity}"
    out = [outbox.OutMessage(chat_id, "digest", html, dedup_key=f"{key}:{i}")
           for i, html in enumerate(composed.prepared.messages, start=1)]
    if composed.chart_png is not None:
        out.append(outbox.OutMessage(
            chat_id, "digest", composed.prepared.chart_caption, dedup_key=f"{key}:chart",
            file_name=CHART_NAME, file_data=composed.chart_png, as_photo=True))
    return out


def identity_of(due: datetime | None, period: Period) -> str:
    """A scheduled digest is its due time; one on request is the moment it was asked."""
    return to_db(due) if due is not None else f"now:{to_db(period.end)}"


async def enqueue_digest(db: Database, chat_id: int, *, due: datetime | None, period: Period,
                         expected_end: datetime | None, composed: Composed,
                         now: datetime) -> bool:
    """Put the digest in the outbox and move the chat's mark, in one transaction.
    False (nothing written) if another digest moved the mark since ``expected_end``."""
    messages = digest_messages(chat_id, identity_of(due, period), composed)
    async with db.transaction() as conn:
        if not await record_sent(conn, chat_id, due=due, period_end=period.end,
                                 expected_end=expected_end, now=now):
            return False
        for message in messages:
            await outbox.enqueue(conn, message, now)
    return True
