"""The alert dispatcher: reads the log's journal (``post_changes``) after its own durable
cursor, decides who each change alerts, and records the alerts with their outbox
messages and the advanced cursor in one transaction; then wakes the sender.

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
import dataclasses
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.alerts import plan
from bot.alerts.diff import word_diff
from bot.alerts.format import (
    AlertView,
    StoryMember,
    format_alert,
    format_delete,
    format_edit,
    with_story,
)
from bot.alerts.plan import Alerted, Audience, RuleInfo
from bot.alerts.stories import StoryIndex, StoryPost, shingles
from bot.app import Runtime, Signal
from bot.delivery.sender import Sender
from bot.failures import failure, log_traceback
from bot.rules import RuleSet, RuleSyntaxError, analyse, compile_rule
from storage import alerts as store
from storage.chats import Chat
from storage.db import Database
from storage.models import CapturePath, Channel, StoredPost
from storage.outbox import OutMessage

log = logging.getLogger(__name__)

PLANNED = 1 << 62           # order of alerts decided in this batch: after every recorded one


def story_post(post_id: int, stored: StoredPost) -> StoryPost:
    p = stored.post
    fwd = p.forward
    origin = (fwd.channel_id, fwd.message_id) if fwd and fwd.channel_id and fwd.message_id \
        else None
    return StoryPost(post_id, p.channel_id, p.message_id, p.date, origin, p.grouped_id,
                     shingles(p.text), bool(p.text.strip()))


@dataclass(frozen=True)
class _Found:
    """A new post and the chats it alerts."""

    change: store.LogChange
    stored: StoredPost
    audience: list[Audience]
    related: dict[int, str]             # other posts of its story: post id -> how


@dataclass(frozen=True)
class _Fold:
    """A folded alert whose record (at ``index``) may edit its story's first alert."""

    index: int
    record: store.AlertRecord
    root: Alerted
    stored: StoredPost


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

    def __init__(self, sender: Sender | None = None, *, batch: int = 200,
                 poll: float = 30.0) -> None:
        self.sender = sender
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
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

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
        async for post_id, stored in store.recent_posts(rt.db, now - rt.settings.repost_window):
            self.stories.add(story_post(post_id, stored))

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
            records = await self._plan_safely(changes, now)
            await store.record(rt.db, records, changes[-1].seq, now)
            self.cursor = changes[-1].seq
            self.handled += len(changes)
            if self.sender is not None and any(r.message for r in records):
                self.sender.wake.notify()
            await asyncio.sleep(0)

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
        rt = self.rt
        assert rt is not None
        db = rt.db
        news = [c for c in changes if c.kind == "new" and c.captured_via in plan.ALERTING_PATHS]
        follows = [c for c in changes if c.kind in ("edit", "delete")]
        wanted = {(c.post_id, c.version) for c in (*news, *follows)}
        wanted |= {(c.post_id, c.version - 1) for c in follows if c.kind == "edit"}
        if not wanted:
            return []
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
        found = await self._audiences(news, posts, now)
        follow_ids = {c.post_id for c in follows}
        known = await _Known.load(db, {p for f in found for p in f.related} | follow_ids)
        chats = await store.chats_by_id(
            db, {a.chat_id for f in found for a in f.audience}
            | {k[0] for k in known.alerted if k[1] in follow_ids})
        origins = await store.channels_by_id(
            db, {f.stored.post.forward.channel_id for f in found
                 if f.stored.post.forward and f.stored.post.forward.channel_id})
        records, folds, planned_html = self._decide(found, chats, origins, known, now)
        if folds:
            records = await self._story_edits(records, folds, chats, known, planned_html)
        records += self._follow_ups(follows, posts, known.alerted, chats, now)
        return records

    async def _audiences(self, news: Sequence[store.LogChange],
                         posts: dict[tuple[int, int], StoredPost],
                         now: datetime) -> list[_Found]:
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
            sp = story_post(c.post_id, stored)
            related = self.stories.related(sp)
            self.stories.add(sp)
            if audience:
                found.append(_Found(c, stored, audience, related))
        return found

    def _decide(self, found: Sequence[_Found], chats: dict[int, Chat],
                origins: dict[int, Channel], known: _Known, now: datetime
                ) -> tuple[list[store.AlertRecord], list[_Fold], dict[tuple[int, int], str]]:
        """The new-post alerts: one per chat and post, held for muted chats, folded into
        the chat's first alert of the same story; none for chats that blocked the bot."""
        records: list[store.AlertRecord] = []
        folds: list[_Fold] = []
        planned_html: dict[tuple[int, int], str] = {}
        for f in found:
            c, post = f.change, f.stored.post
            late = plan.lateness(c.captured_via, post.date, now)
            album_member = bool(f.related) and all(h == "album" for h in f.related.values())
            origin = origins.get(post.forward.channel_id or 0) if post.forward else None
            rendered: dict[tuple[object, ...], str] = {}     # chats that see the same alert
            for a in f.audience:
                chat = chats.get(a.chat_id)
                if chat is None or chat.blocked_at is not None:
                    continue
                key = (a.chat_id, c.post_id)
                root = plan.story_root(a.chat_id, f.related, known.alerted)
                base = store.AlertRecord(a.chat_id, c.post_id, "new", c.version, c.seq,
                                         "queued", a.describe(), a.rule_ids, a.subscribed)
                if root is not None:
                    record = dataclasses.replace(base, status="folded", story_root=root.key)
                    if not album_member:         # an album's photos fold silently
                        folds.append(_Fold(len(records), record, root, f.stored))
                    records.append(record)
                    known.alerted[key] = Alerted(*key, "folded", PLANNED + len(records),
                                                 root.key)
                    continue
                status, message = "held" if chat.muted(now) else "queued", None
                if status == "queued":
                    tz = self._tz(chat)
                    html = rendered.get((tz, a.reasons, a.spans))
                    if html is None:
                        view = AlertView(post, f.stored.channel, a.reasons, a.spans, origin,
                                         late, c.captured_via == CapturePath.CATCH_UP)
                        html = rendered[(tz, a.reasons, a.spans)] = format_alert(view, tz)
                    planned_html[key] = html
                    message = OutMessage(
                        a.chat_id, "alert", html,
                        dedup_key=f"alert:{a.chat_id}:{post.channel_id}:{post.message_id}")
                records.append(dataclasses.replace(base, status=status, message=message))
                known.alerted[key] = Alerted(*key, status, PLANNED + len(records))
        return records, folds, planned_html

    def _tz(self, chat: Chat) -> str:
        assert self.rt is not None
        return chat.timezone or self.rt.settings.timezone

    async def _story_edits(self, records: list[store.AlertRecord], folds: list[_Fold],
                           chats: dict[int, Chat], known: _Known,
                           planned_html: dict[tuple[int, int], str]
                           ) -> list[store.AlertRecord]:
        """A folded post's record edits its story's first alert to name it (when that
        alert was sent or is queued): the first alert's text plus "Also posted by"."""
        assert self.rt is not None
        db = self.rt.db
        roots = {f.root.key for f in folds if f.root.status == "queued"}
        members = await store.story_members(
            db, {known.alert_id[k] for k in roots if k in known.alert_id})
        html_of = await store.outbox_html(
            db, {known.outbox_of[k] for k in roots if k in known.outbox_of})
        so_far = {k: [StoryMember(ch, mid, date) for ch, mid, date in members.get(i, [])]
                  for k, i in known.alert_id.items() if k in roots}
        out = list(records)
        for f in folds:
            base = planned_html.get(f.root.key) or html_of.get(known.outbox_of.get(f.root.key, 0))
            if f.root.status != "queued" or base is None:
                continue
            line = so_far.setdefault(f.root.key, [])
            post = f.stored.post
            line.append(StoryMember(f.stored.channel, post.message_id, post.date))
            html = with_story(base, line, self._tz(chats[f.record.chat_id]), post.date)
            message = OutMessage(
                f.record.chat_id, "alert", html,
                dedup_key=f"story:{f.record.chat_id}:{post.channel_id}:{post.message_id}")
            out[f.index] = dataclasses.replace(f.record, message=message, target=f.root.key,
                                               edits_target=True)
        return out

    def _follow_ups(self, follows: Sequence[store.LogChange],
                    posts: dict[tuple[int, int], StoredPost],
                    known: dict[tuple[int, int], Alerted], chats: dict[int, Chat],
                    now: datetime) -> list[store.AlertRecord]:
        """Edit and deletion alerts, for chats with /edits on that were sent the post."""
        by_post: dict[int, list[Alerted]] = defaultdict(list)
        for a in known.values():
            if a.status == "queued":
                by_post[a.post_id].append(a)
        out = []
        for c in follows:
            current = posts.get((c.post_id, c.version))
            if current is None or not by_post.get(c.post_id):
                continue
            previous = posts.get((c.post_id, c.version - 1))
            if c.kind == "edit" and (previous is None or not plan.edit_alerts(
                    previous.post.text, previous.post.media, current.post.text,
                    current.post.media)):
                continue
            post, channel = current.post, current.channel
            for a in sorted(by_post[c.post_id], key=lambda a: a.chat_id):
                chat = chats.get(a.chat_id)
                if chat is None or not chat.edit_alerts or chat.blocked_at is not None:
                    continue
                held = chat.muted(now)
                message = None
                if not held:
                    tz = self._tz(chat)
                    if c.kind == "edit":
                        assert previous is not None
                        html = format_edit(channel, post, word_diff(previous.post.text, post.text),
                                           previous.post.media, c.at, tz)
                        key = f"edit:{a.chat_id}:{post.channel_id}:{post.message_id}:{c.version}"
                    else:
                        html = format_delete(channel, post, c.at, tz)
                        key = f"delete:{a.chat_id}:{post.channel_id}:{post.message_id}"
                    message = OutMessage(a.chat_id, "alert", html, dedup_key=key)
                out.append(store.AlertRecord(
                    a.chat_id, c.post_id, c.kind, c.version, c.seq,
                    "held" if held else "queued",
                    "edited" if c.kind == "edit" else "deleted",
                    message=message, target=a.key))
        return out

