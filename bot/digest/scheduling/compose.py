"""Chats' digests, built and rendered together where they share work.

The one digest pipeline of the app, for one chat or many at once: gather the period's
material, build (:func:`bot.digest.build.build_digest`), render, draw the chart. A
digest built alone streams and analyses every post of the period for its rules, which
costs seconds a digest on a busy day; chats due together share that pass (and the
period's material, and the chart).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.digest.build import build_digest
from bot.digest.model import Digest
from bot.digest.render_telegram import chart_caption, render_telegram
from bot.digest.scheduling.coverage import (
    Coverage,
    compiled_rules,
    coverage,
    tally_rules_of_many,
)
from bot.digest.scheduling.plan import zone
from bot.rules import CompiledRule
from storage.db import Database
from storage.digest_queries import Period, gather_material
from storage.subscriptions import live_rules
from storage.watchlist import live_entries


@dataclass(frozen=True)
class PreparedDigest:
    digest: Digest
    messages: tuple[str, ...]        # HTML for parse_mode="html", in order
    chart_caption: str               # the caption of the chart's photo


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


@dataclass(frozen=True)
class DigestRequest:
    chat_id: int
    tz_name: str
    period: Period


@dataclass(frozen=True)
class _Wanted:
    request: DigestRequest
    cover: Coverage
    rules: list[tuple[str, CompiledRule]]
    key: Hashable


async def compose_many(db: Database, requests: Sequence[DigestRequest], *,
                       cache: DigestCache | None = None,
                       now: datetime | None = None) -> dict[int, Composed]:
    """Build and render several chats' digests. Chats that cover the same channels over
    the same period share the period's material and one pass over its posts for all
    their rules; chats that also share rules and zone share the digest itself (and,
    with a ``cache`` judged at ``now``, so do digests built a moment ago). Charts are
    drawn off the event loop, once per zone."""
    entries = await live_entries(db)
    groups: dict[tuple[tuple[int, ...], Period], list[_Wanted]] = {}
    for r in requests:
        cover = await coverage(db, r.chat_id, entries)
        saved = await live_rules(db, r.chat_id)
        key = (cover, tuple(x.text for x in saved), r.tz_name, r.period)
        groups.setdefault((cover.channel_ids, r.period), []).append(
            _Wanted(r, cover, compiled_rules(saved), key))
    out: dict[int, Composed] = {}
    for (channel_ids, period), members in groups.items():
        todo = []
        for m in members:
            hit = cache.get(m.key, now) if cache is not None and now is not None else None
            if hit is not None:
                out[m.request.chat_id] = hit
            else:
                todo.append(m)
        if not todo:
            continue
        material = await gather_material(db, period, channel_ids)
        hits = await tally_rules_of_many(db, period, channel_ids,
                                         {m.request.chat_id: m.rules for m in todo})
        charts: dict[str, bytes | None] = {}
        built: dict[Hashable, Composed] = {}
        for m in todo:
            if m.key in built:
                out[m.request.chat_id] = built[m.key]
                continue
            tz = zone(m.request.tz_name)
            digest = build_digest(material, rules=hits[m.request.chat_id],
                                  unreadable=m.cover.unreadable)
            if m.request.tz_name not in charts:
                charts[m.request.tz_name] = (await asyncio.to_thread(chart_png, digest, tz)
                                             if digest.total_posts else None)
            composed = Composed(
                PreparedDigest(digest, tuple(render_telegram(digest, tz)),
                               chart_caption(digest, tz)),
                charts[m.request.tz_name])
            built[m.key] = out[m.request.chat_id] = composed
            if cache is not None and now is not None:
                cache.put(m.key, composed, now)
    return out


def chart_png(digest: Digest, tz: tzinfo) -> bytes:
    from bot.digest.chart import render_chart

    return opaque_png(render_chart(digest, tz))


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


