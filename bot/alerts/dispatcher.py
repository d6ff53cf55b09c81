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
from bot.rules import RuleSet, RuleSyntaxError, analyse, compile_rule
from storage import alerts as store
from storage.chats import Chat
from storage.models import CapturePath, StoredPost
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
            except Exception:
                log.exception("alert dispatch failed; retrying in 5 s")
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
        except Exception:
            if len(changes) == 1:
                log.exception("change %s (post %s) skipped: it could not be planned",
                              changes[0].seq, changes[0].post_id)
                return []
        out: list[store.AlertRecord] = []
        for change in changes:
            out += await self._plan_safely([change], now)
        return out

    async def _plan(self, changes: Sequence[store.LogChange],
                    now: datetime) -> list[store.AlertRecord]:
        rt = self.rt
        assert rt is not None and self.stories is not None
        db = rt.db
        news = [c for c in changes if c.kind == "new" and c.captured_via in plan.ALERTING_PATHS]
        follows = [c for c in changes if c.kind in ("edit", "delete")]
        wanted = {(c.post_id, c.version) for c in (*news, *follows)}
        wanted |= {(c.post_id, c.version - 1) for c in follows if c.kind == "edit"}
        if not wanted:
            return []
        posts = await store.posts_at_versions(db, wanted)
        news = [c for c in news if (c.post_id, c.version) in posts and plan.alerts_new_post(
            c.captured_via, posts[(c.post_id, c.version)].post.date, now)]
        self.stories.expire(now)

        # Who each new post alerts, and which recent posts tell the same story.
        subs = await store.subscribers(
            db, {posts[(c.post_id, c.version)].post.channel_id for c in news})
        found: list[tuple[store.LogChange, StoredPost, list[Audience], dict[int, str]]] = []
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
                found.append((c, stored, audience, related))

        # What the chats were alerted of already.
        follow_ids = {c.post_id for c in follows}
        past = await store.new_alerts_of(
            db, {p for *_, related in found for p in related} | follow_ids)
        by_id = {had.id: had for had in past}
        missing = {had.story_of for had in past if had.story_of and had.story_of not in by_id}
        if missing:
            for had in await store.new_alerts_by_id(db, missing):
                by_id[had.id] = had
        known: dict[tuple[int, int], Alerted] = {}
        outbox_of: dict[tuple[int, int], int] = {}
        root_id: dict[tuple[int, int], int] = {}
        for had in by_id.values():
            first = by_id.get(had.story_of) if had.story_of else None
            known[(had.chat_id, had.post_id)] = Alerted(
                had.chat_id, had.post_id, had.status, had.id,
                (first.chat_id, first.post_id) if first else None)
            root_id[(had.chat_id, had.post_id)] = had.id
            if had.outbox_id is not None:
                outbox_of[(had.chat_id, had.post_id)] = had.outbox_id
        chats = await store.chats_by_id(
            db, {a.chat_id for *_, audience, _ in found for a in audience}
            | {had.chat_id for had in past if had.post_id in follow_ids})
        origins = await store.channels_by_id(
            db, {s.post.forward.channel_id for _, s, _, _ in found
                 if s.post.forward and s.post.forward.channel_id})

        records: list[store.AlertRecord] = []
        planned_html: dict[tuple[int, int], str] = {}
        folds: list[tuple[int, store.AlertRecord, Alerted, StoredPost]] = []
        for c, stored, audience, related in found:
            post = stored.post
            late = plan.lateness(c.captured_via, post.date, now)
            album_member = bool(related) and all(how == "album" for how in related.values())
            view_cache: dict[tuple[object, ...], str] = {}
            for a in audience:
                chat = chats.get(a.chat_id)
                if chat is None or chat.blocked_at is not None:
                    continue
                root = plan.story_root(a.chat_id, related, known)
                base = store.AlertRecord(a.chat_id, c.post_id, "new", c.version, c.seq,
                                         "queued", a.describe(), a.rule_ids, a.subscribed)
                if root is not None:
                    record = dataclasses.replace(base, status="folded", story_root=root.key)
                    if not album_member:         # an album's photos fold silently
                        folds.append((len(records), record, root, stored))
                    records.append(record)
                    known[(a.chat_id, c.post_id)] = Alerted(
                        a.chat_id, c.post_id, "folded", PLANNED + len(records), root.key)
                    continue
                held = chat.muted(now)
                message = None
                if not held:
                    tz = self._tz(chat)
                    key = (tz, a.reasons, a.spans)
                    html = view_cache.get(key)
                    if html is None:
                        view = AlertView(post, stored.channel, a.reasons, a.spans,
                                         origins.get(post.forward.channel_id or 0)
                                         if post.forward else None,
                                         late, c.captured_via == CapturePath.CATCH_UP)
                        html = view_cache[key] = format_alert(view, tz)
                    planned_html[(a.chat_id, c.post_id)] = html
                    message = OutMessage(
                        a.chat_id, "alert", html,
                        dedup_key=f"alert:{a.chat_id}:{post.channel_id}:{post.message_id}")
                records.append(dataclasses.replace(
                    base, status="held" if held else "queued", message=message))
                known[(a.chat_id, c.post_id)] = Alerted(
                    a.chat_id, c.post_id, "held" if held else "queued", PLANNED + len(records))
        if folds:
            records = await self._story_edits(records, folds, chats, outbox_of, root_id,
                                              planned_html)
        records += self._follow_ups(follows, posts, known, chats, now)
        return records

    def _tz(self, chat: Chat) -> str:
        assert self.rt is not None
        return chat.timezone or self.rt.settings.timezone

    async def _story_edits(self, records: list[store.AlertRecord],
                           folds: list[tuple[int, store.AlertRecord, Alerted, StoredPost]],
                           chats: dict[int, Chat], outbox_of: dict[tuple[int, int], int],
                           root_id: dict[tuple[int, int], int],
                           planned_html: dict[tuple[int, int], str]
                           ) -> list[store.AlertRecord]:
        """A folded post's record edits its story's first alert to name it (when that
        alert was sent or is queued): the first alert's text plus "Also posted by"."""
        assert self.rt is not None
        db = self.rt.db
        roots = {root.key for _, _, root, _ in folds if root.status == "queued"}
        recorded = {root_id[k] for k in roots if k in root_id}
        members = await store.story_members(db, recorded)
        html_of = await store.outbox_html(db, {outbox_of[k] for k in roots if k in outbox_of})
        so_far: dict[tuple[int, int], list[StoryMember]] = {
            k: [StoryMember(ch, mid, date) for ch, mid, date in members.get(root_id[k], [])]
            for k in roots if k in root_id}
        out = list(records)
        for index, record, root, stored in folds:
            if root.status != "queued":
                continue
            base = planned_html.get(root.key) or html_of.get(outbox_of.get(root.key, 0))
            if base is None:
                continue
            line = so_far.setdefault(root.key, [])
            line.append(StoryMember(stored.channel, stored.post.message_id, stored.post.date))
            chat = chats[record.chat_id]
            html = with_story(base, line, self._tz(chat), stored.post.date)
            post = stored.post
            message = OutMessage(
                record.chat_id, "alert", html,
                dedup_key=f"story:{record.chat_id}:{post.channel_id}:{post.message_id}")
            out[index] = dataclasses.replace(record, message=message, target=root.key,
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

