"""The alert dispatcher: reads the log's journal (``post_changes``) after its own durable
cursor, and for each batch loads what the decisions need, decides who each change
alerts (:func:`bot.alerts.decide.decide`, a pure function) and records the alerts with
their outbox messages and the advanced cursor in one transaction; then wakes the sender.

It wakes when the watcher stores something (``rt.log_changed``) and polls on a slow
interval too. The rules of every chat live in one in-memory :class:`RuleSet`, synced
with the ``rules`` table at start and whenever /alert or /unalert change it
(``rt.rules_changed``). Subscriptions, chats' settings and earlier alerts are read from
the database for each batch. A replay of changes already handled adds nothing (the
alerts' unique keys and the outbox's dedup keys), so a crash anywhere loses nothing and
never alerts twice (short of dying between Telegram's answer and marking it sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.alerts import plan
from bot.alerts.decide import Found, Loaded, decide
from bot.alerts.plan import Alerted, RuleInfo
from bot.alerts.stories import StoryIndex, StoryPost, shingles
from bot.failures import failure, log_traceback
from bot.media.policy import photo_alert
from bot.rules import RuleSet, RuleSyntaxError, analyse, compile_rule
from bot.runtime import Runtime, Signal
from bot.tasks import stop_tasks
from storage import alerts as store
from storage import media, outbox
from storage.db import Database
from storage.models import CapturePath, StoredPost

log = logging.getLogger(__name__)


def story_post(post_id: int, stored: StoredPost, photo: str | None = None) -> StoryPost:
    p = stored.post
    fwd = p.forward
    origin = (fwd.channel_id, fwd.message_id) if fwd and fwd.channel_id and fwd.message_id \
        else None
    return StoryPost(post_id, p.channel_id, p.message_id, p.date, origin, p.grouped_id,
                     shingles(p.text), bool(p.text.strip()), photo)


@dataclass
class _Known:
    """The new-post alerts chats already have of some posts (and of their stories' first
    posts), by (chat, post); alerts decided in the batch join ``alerted``."""

    alerted: dict[tuple[int, int], Alerted]
    outbox_of: dict[tuple[int, int], int]
    alert_id: dict[tuple[int, int], int]

    @classmethod
    async def load(cls, db: Database, post_ids: set[int]) -> _Known:
        past = await store.new_alerts_of(db, post_ids)
        by_id = {had.id: had for had in past}
        missing = {had.story_of for had in past if had.story_of and had.story_of not in by_id}
        for had in await store.new_alerts_by_id(db, missing) if missing else ():
            by_id[had.id] = had
        known = cls({}, {}, {})
        for had in by_id.values():
            key = (had.chat_id, had.post_id)
            first = by_id.get(had.story_of) if had.story_of else None
            known.alerted[key] = Alerted(*key, had.status, had.id,
                                         (first.chat_id, first.post_id) if first else None)
            known.alert_id[key] = had.id
            if had.outbox_id is not None:
                known.outbox_of[key] = had.outbox_id
        return known


class AlertDispatcher:
    name = "alerts"

    def __init__(self, *, batch: int = 200, poll: float = 30.0) -> None:
        self.batch = batch
        self.poll = poll
        self.rt: Runtime | None = None
        self.rules = RuleSet()
        self.rule_info: dict[int, RuleInfo] = {}
        self.stories: StoryIndex | None = None
        self.cursor = 0
        self.handled = 0                    # changes read (for /status and benchmarks)
        self.ready = asyncio.Event()        # rules and stories loaded
        self._broken: set[int] = set()      # stored rules that no longer compile
        self._rules_dirty = True
        self._wake = Signal()
        self._soon: float | None = None     # a photo is awaited: look again this soon
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, rt: Runtime) -> None:
        if rt.bot is None:
            log.info("no bot: alerts are off")
            return
        self.rt = rt
        self._tasks = [asyncio.create_task(self._run(), name="alert dispatcher"),
                       asyncio.create_task(self._forward(rt.log_changed, False)),
                       asyncio.create_task(self._forward(rt.rules_changed, True))]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks, self.rt = [], None

    async def _forward(self, signal: Signal, rules: bool) -> None:
        while True:
            await signal.wait()
            if rules:
                self._rules_dirty = True
            self._wake.notify()

    async def _run(self) -> None:
        rt = self.rt
        assert rt is not None
        self.cursor = await store.read_cursor(rt.db)
        await self._sync_rules()
        await self._load_stories(rt.now())
        self.ready.set()
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.error("alert dispatch failed: %s; retrying in 5 s", failure(e))
                log_traceback(log, e)
                await asyncio.sleep(5)
                continue
            wait = self.poll if self._soon is None else min(self._soon, self.poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    # ---- state kept in memory ----

    async def _sync_rules(self) -> None:
        """Make the RuleSet match the live rules of the database: compile the new ones,
        drop the deleted ones, renumber."""
        rt = self.rt
        assert rt is not None
        self._rules_dirty = False
        live = await store.all_live_rules(rt.db)
        alive = {r.id for r in live}
        for rule_id in [r for r in self.rule_info if r not in alive]:
            self.rules.remove(rule_id)
            del self.rule_info[rule_id]
        numbers: dict[int, int] = defaultdict(int)
        compiled = 0
        for r in live:
            numbers[r.chat_id] += 1
            if r.id in self._broken:
                continue
            if r.id not in self.rules:
                try:
                    self.rules.add(r.id, compile_rule(r.text))
                except RuleSyntaxError as e:
                    log.warning("rule %s of chat %s no longer compiles: %s", r.id, r.chat_id, e)
                    self._broken.add(r.id)
                    continue
                compiled += 1
                if compiled % 100 == 0:
                    await asyncio.sleep(0)      # 10,000 rules take seconds: let others run
            self.rule_info[r.id] = RuleInfo(r.id, r.chat_id, numbers[r.chat_id], r.text)

    async def _load_stories(self, now: datetime) -> None:
        rt = self.rt
        assert rt is not None
        self.stories = StoryIndex(rt.settings.repost_window)
        since = now - rt.settings.repost_window
        photos = {post_id: phash async for post_id, phash in media.photo_hashes_since(rt.db,
                                                                                       since)}
        async for post_id, stored in store.recent_posts(rt.db, since):
            self.stories.add(story_post(post_id, stored, photos.get(post_id)))

    # ---- the loop ----

    async def drain(self) -> None:
        """Handle every change after the cursor, a batch at a time."""
        rt = self.rt
        assert rt is not None
        while True:
            if self._rules_dirty:
                await self._sync_rules()
            changes = await store.changes_after(rt.db, self.cursor, self.batch)
            if not changes:
                return
            now = rt.now()
            changes = await self._photos_ready(changes, now)
            if not changes:
                return
            records = await self._plan_safely(changes, now)
            await store.record(rt.db, records, changes[-1].seq, now)
            self.cursor = changes[-1].seq
            self.handled += len(changes)
            if any(r.message for r in records):
                rt.outbox_changed.notify()
            if records:
                rt.webhooks_changed.notify()
            await asyncio.sleep(0)

    async def _photos_ready(self, changes: list[store.LogChange],
                            now: datetime) -> list[store.LogChange]:
        """The changes up to the first new photo post whose photo is still being
        downloaded (for at most PHOTO_WAIT from its capture): its alert then goes with
        the photo, and a re-post of the same picture is seen as one story."""
        rt = self.rt
        assert rt is not None
        self._soon = None
        if "photo" not in rt.settings.media:
            return changes
        news = [c.post_id for c in changes if c.kind == "new"
                and c.captured_via in plan.ALERTING_PATHS]
        if not news:
            return changes
        found = await media.media_of_posts(rt.db, news)
        paused = await media.get_pause(rt.db) is not None
        for i, c in enumerate(changes):
            m = found.get(c.post_id) if c.kind == "new" else None
            if m is not None and m.kind == "photo" and \
                    photo_alert(m.status, False, m.queued_at, now, paused=paused) == "wait":
                self._soon = 1.0
                return changes[:i]
        return changes

    async def _plan_safely(self, changes: Sequence[store.LogChange],
                           now: datetime) -> list[store.AlertRecord]:
        """A change that cannot be planned (a bug, not the database) is logged and
        skipped rather than stopping every alert behind it."""
        try:
            return await self._plan(changes, now)
        except (sqlite3.Error, asyncio.CancelledError):
            raise
        except Exception as e:
            if len(changes) == 1:
                log.error("change %s (post %s) skipped: it could not be planned: %s",
                          changes[0].seq, changes[0].post_id, failure(e))
                log_traceback(log, e)
                return []
        out: list[store.AlertRecord] = []
        for change in changes:
            out += await self._plan_safely([change], now)
        return out

    async def _plan(self, changes: Sequence[store.LogChange],
                    now: datetime) -> list[store.AlertRecord]:
        batch = await self._load(changes, now)
        return [] if batch is None else decide(batch, now)

    async def _load(self, changes: Sequence[store.LogChange],
                    now: datetime) -> Loaded | None:
        """What :func:`~bot.alerts.decide.decide` needs of these changes: the posts at
        their versions, who each new post alerts (the rules and the story index, in
        memory), the alerts chats already have, the chats, the channels forwarded from,
        and the first alerts of stories that may be edited. None: nothing to decide."""
        rt = self.rt
        assert rt is not None
        db = rt.db
        news = [c for c in changes if c.kind == "new" and c.captured_via in plan.ALERTING_PATHS]
        follows = [c for c in changes if c.kind in ("edit", "delete")]
        wanted = {(c.post_id, c.version) for c in (*news, *follows)}
        wanted |= {(c.post_id, c.version - 1) for c in follows if c.kind == "edit"}
        if not wanted:
            return None
        posts = await store.posts_at_versions(db, wanted)
        news = [c for c in news if (c.post_id, c.version) in posts]
        since = await store.watched_since(
            db, {posts[(c.post_id, c.version)].post.channel_id for c in news
                 if c.captured_via == CapturePath.CATCH_UP})

        def alerting(c: store.LogChange) -> bool:
            post = posts[(c.post_id, c.version)].post
            return plan.alerts_new_post(c.captured_via, post.date, now,
                                        since.get(post.channel_id))

        news = [c for c in news if alerting(c)]
        photos = await media.media_of_posts(db, {c.post_id for c in news})
        found = await self._audiences(news, posts, photos, now)
        follow_ids = {c.post_id for c in follows}
        related = {p for f in found for p in f.related}
        known = await _Known.load(db, related | follow_ids)
        chats = await store.chats_by_id(
            db, {a.chat_id for f in found for a in f.audience}
            | {k[0] for k in known.alerted if k[1] in follow_ids})
        origins = await store.channels_by_id(
            db, {f.stored.post.forward.channel_id for f in found
                 if f.stored.post.forward and f.stored.post.forward.channel_id})
        # A folded post edits its story's first alert: one of the related posts' alerts,
        # or the one such an alert was folded into.
        firsts = {k for k in known.alerted if k[1] in related}
        firsts |= {a.root for k, a in known.alerted.items() if k in firsts and a.root}
        roots = {k for k in firsts if known.alerted.get(k) is not None
                 and known.alerted[k].status == "queued"}
        members = await store.story_members(
            db, {known.alert_id[k] for k in roots if k in known.alert_id}) if roots else {}
        root_outboxes = {known.outbox_of[k] for k in roots if k in known.outbox_of}
        html_of = await store.outbox_html(db, root_outboxes) if roots else {}
        captions = await outbox.captions(db, root_outboxes) if roots else {}
        root_photos = await media.phashes_of_posts(db, {k[1] for k in roots}) \
            if roots else {}
        member_photos = await media.phashes_of_messages(
            db, {(ch.channel_id, mid) for line in members.values() for ch, mid, _ in line}) \
            if members else {}
        return Loaded(found, follows, posts, known.alerted, known.alert_id, known.outbox_of,
                      chats, origins, members, html_of, rt.settings.timezone, photos,
                      captions, root_photos, member_photos)

    async def _audiences(self, news: Sequence[store.LogChange],
                         posts: dict[tuple[int, int], StoredPost],
                         photos: dict[int, media.PostMedia], now: datetime) -> list[Found]:
        """Who each new post alerts, and which recent posts tell the same story (every
        post joins the story index, alerting or not)."""
        assert self.rt is not None and self.stories is not None
        self.stories.expire(now)
        subs = await store.subscribers(
            self.rt.db, {posts[(c.post_id, c.version)].post.channel_id for c in news})
        found = []
        for c in news:
            stored = posts[(c.post_id, c.version)]
            analysed = analyse(stored.post.text, channel=stored.channel.username,
                               channel_id=stored.post.channel_id)
            audience = plan.audiences(self.rules.match(analysed), self.rule_info,
                                      subs.get(stored.post.channel_id, ()))
            photo = photos.get(c.post_id)
            sp = story_post(c.post_id, stored, photo.phash if photo else None)
            related = self.stories.related(sp)
            self.stories.add(sp)
            if audience:
                found.append(Found(c, stored, audience, related))
        return found
