"""What must hold after any simulated run, checked from the database, the simulated
world (its transcript and the requests it got) and the scenario: plain functions that
return the :class:`Violation` s they find, for the soak (``python -m bench soak``) and
for tests.

- posts: every post that tgmon could certainly see is stored, once, with its date;
  what is stored is a text the post really had, its versions in the order they came;
  a post whose last edit stayed visible long enough is stored with that text; nothing
  that never existed is stored;
- tombstones: a post deleted while tgmon could look is tombstoned; a tombstone is a
  real deletion, dated no earlier than it happened;
- delivery: every message the bot sent is one outbox row, sent once; nothing is left
  pending or failed at the end;
- alerts: each chat gets each post's alert (and its deletion alert) once; an alert
  decided is delivered; a subscribed chat is alerted of every post captured after it
  subscribed;
- digests: each due digest goes out once, and none at a time no schedule of the chat
  had it due, while its digests were off, or to a person who may not have them;
- limits: nothing the bot sent breaks Telegram's limits (UTF-16 length of texts and
  captions, entities inside the text and properly nested, callback data);
- errors: nothing was logged at ERROR.

"Certainly" is judged by :mod:`bot.sim.truth`: spans with the app up and no fault in
the way, long enough for the watcher's reads (``CAPTURE``) and re-checks (``RECHECK``).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.alerts.plan import alerts_new_post
from bot.commands.router import split_command
from bot.digest.scheduling.plan import Plan, ScheduleError, due_times, parse_clock, parse_days
from bot.sim.generate import BOT_USERNAME
from bot.sim.scenario import Scenario
from bot.sim.scenario_events import Fault, Message
from bot.sim.truth import (
    RESTART,
    PostTruth,
    Spans,
    Truth,
    ending,
    inside,
    intersect,
    is_subsequence,
    messages_of,
    read_truth,
    subtract,
    union,
)
from config.settings import Settings
from storage.models import CapturePath, utf16_len
from storage.timefmt import from_db, from_db_opt, to_db

if TYPE_CHECKING:
    from bot.sim.model import ChatMessage
    from bot.sim.world import World

CAPTURE = timedelta(minutes=20)     # a post visible this long, undisturbed, is captured
RECHECK = timedelta(minutes=45)     # an edit or deletion is found by a re-check within this
WATCHED = timedelta(minutes=10)     # /watch: looked up and first read within this
DIGEST_SETTLE = timedelta(minutes=30)   # a digest due this long before the end is sent
TEXT_MAX, CAPTION_MAX, CALLBACK_MAX = 4096, 1024, 64


@dataclass(frozen=True)
class Violation:
    check: str                      # posts, tombstones, delivery, alerts, digests, limits, errors
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass
class Run:
    """Everything a finished run left to judge."""

    scenario: Scenario
    settings: Settings              # the scenario's settings applied
    world: World
    db_path: Path
    errors: Sequence[str] = ()      # messages logged at ERROR or above
    stopped: datetime | None = None     # tgmon stopped for good: Telegram ended an account
    stopped_role: str | None = None     # ... of this client
    truth: Truth = field(init=False)
    tally: Counter[str] = field(default_factory=Counter)   # what the checks required

    def __post_init__(self) -> None:
        self.truth = read_truth(self.scenario, self.stopped)

    @property
    def end(self) -> datetime:
        return self.truth.end


def check_run(run: Run) -> list[Violation]:
    """Every invariant of the module's docstring."""
    run.tally["messages from the bot"] = sum(1 for m in run.world.chat_log if m.out)
    with closing(open_readonly(run.db_path)) as db:
        return [*check_end(run), *check_posts(run, db),
                *check_delivery(run.world, db, run.end, stopped=run.stopped is not None),
                *check_alerts(run, db), *check_digests(run, db), *check_limits(run.world),
                *check_errors(run.errors, stopped=run.stopped is not None)]


def open_readonly(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _v(check: str, detail: str) -> Violation:
    return Violation(check, detail)


# ---- what tgmon could see ----

def _command(text: str) -> tuple[str, str] | None:
    return split_command(text, BOT_USERNAME)


def _names(scenario: Scenario) -> dict[str, str]:
    """Every name a scenario channel ever had (lower case) -> its scenario username."""
    out = {c.username.lower(): c.username for c in scenario.channels}
    for e in scenario.events:
        f = e.action
        if isinstance(f, Fault) and f.kind == "username_change" and f.channel and f.to:
            out[f.to.lower()] = f.channel
    return out


def current_names(scenario: Scenario, moment: datetime) -> dict[str, str]:
    """The channels' usernames at ``moment`` (lower case) -> scenario username."""
    now = {c.username: c.username.lower() for c in scenario.channels}
    for e in scenario.events:
        f = e.action
        if e.at > moment:
            break
        if isinstance(f, Fault) and f.kind == "username_change" and f.channel:
            now[f.channel] = f.to.lower() if f.to else ""
    return {name: channel for channel, name in now.items() if name}


def watched_spans(run: Run) -> dict[str, Spans]:
    """When each channel was certainly on the watch list (by scenario username)."""
    s, truth = run.settings, run.truth
    scenario = run.scenario
    initial = {w.lower().lstrip("@") for w in s.watch or ()}
    since: dict[str, datetime | None] = {
        c.username: scenario.start if c.username.lower() in initial else None
        for c in scenario.channels}
    spans: dict[str, Spans] = {c.username: [] for c in scenario.channels}
    names = _names(scenario)
    for e in scenario.events:
        m = e.action
        if not isinstance(m, Message) or m.user not in s.admins:
            continue
        cmd = _command(m.text)
        if cmd is None or cmd[0] not in ("watch", "unwatch"):
            continue
        ref = cmd[1].strip().lstrip("@").lower()
        if cmd[0] == "unwatch":
            channel = names.get(ref)
            if channel is not None and since[channel] is not None:
                spans[channel].append((since[channel], e.at))      # type: ignore[arg-type]
                since[channel] = None
            continue
        channel = current_names(scenario, e.at).get(ref)
        if channel is not None and since[channel] is None and channel not in truth.private_at:
            since[channel] = truth.answered_by(e.at) + WATCHED
    for channel, start in since.items():
        if start is not None:
            spans[channel].append((start, run.end))
    return {c: union(v) for c, v in spans.items()}


def clean_spans(run: Run) -> dict[str, Spans]:
    """When tgmon certainly watched each channel undisturbed: the app up, the channel
    watched and public, no fault on the watching account."""
    truth = run.truth
    out = {}
    for channel, watched in watched_spans(run).items():
        gone = truth.private_at.get(channel)
        cut = truth.user_faults + ([(gone, truth.end)] if gone else [])
        out[channel] = subtract(intersect(truth.up, watched), union(cut))
    return out


def _stretch(spans: Spans, start: datetime, end: datetime) -> timedelta:
    """The longest undisturbed stretch of ``spans`` within [start, end]."""
    pieces = intersect(spans, [(start, end)])
    return max((b - a for a, b in pieces), default=timedelta(0))


def _pushed(spans: Spans, moment: datetime, end: datetime) -> bool:
    """Whether a change at ``moment`` was certainly pushed and handled: it fell in an
    undisturbed span that went on for a while."""
    return inside(moment, spans) and _stretch(spans, moment, end) >= CAPTURE


def _read_window(run: Run, p: PostTruth, watched: Spans) -> bool:
    """Whether the post is young enough to be read when its channel was first watched
    (a channel's first read takes in its last TGMON_INITIAL_WINDOW)."""
    first = next((a for a, b in watched if b > p.date), None)
    return first is not None and p.date >= first - run.settings.initial_window


# ---- posts and tombstones ----

def _collapse(texts: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        if not out or out[-1] != t:
            out.append(t)
    return out


def check_posts(run: Run, db: sqlite3.Connection) -> list[Violation]:
    truth, end = run.truth, run.end
    recheck_window = run.settings.recheck_window
    stored = {(r["channel_id"], r["message_id"]): r for r in db.execute(
        "SELECT id, channel_id, message_id, date, text, deleted_at FROM posts")}
    versions: dict[int, list[str]] = defaultdict(list)
    for r in db.execute("SELECT post_id, text FROM post_versions ORDER BY post_id, version"):
        versions[r[0]].append(r[1])
    out = []
    for key, row in stored.items():
        p = truth.posts.get(key)
        name = f"{key[0]}/{key[1]}"
        if p is None:
            out.append(_v("posts", f"post {name} is stored but never existed"))
            continue
        name = f"{p.channel}/{p.id}"
        texts = [t for _, t in p.texts]
        if row["text"] not in texts:
            out.append(_v("posts", f"{name} is stored with a text it never had: "
                                   f"{row['text'][:60]!r}"))
        if not is_subsequence(_collapse(versions[row["id"]]), _collapse(texts)):
            out.append(_v("posts", f"{name}: its versions are not its texts in order"))
        if from_db(row["date"]) != p.date.replace(microsecond=0):
            out.append(_v("posts", f"{name} is stored dated {row['date']}, posted "
                                   f"{to_db(p.date)}"))
        deleted_at = from_db_opt(row["deleted_at"])
        if deleted_at is not None and p.deleted is None:
            out.append(_v("tombstones", f"{name} is tombstoned but was never deleted"))
        elif deleted_at is not None and p.deleted is not None and \
                deleted_at < p.deleted.replace(microsecond=0):
            out.append(_v("tombstones", f"{name} is tombstoned at {row['deleted_at']}, before "
                                        f"its deletion at {to_db(p.deleted)}"))
    clean = clean_spans(run)
    watched = watched_spans(run)
    for key, p in truth.posts.items():
        spans = clean[p.channel]
        name = f"{p.channel}/{p.id}"
        row = stored.get(key)
        life_end = p.deleted or end
        if _stretch(spans, p.date, life_end) >= CAPTURE and \
                _read_window(run, p, watched[p.channel]):
            run.tally["posts that must be stored"] += 1
            if row is None:
                out.append(_v("posts", f"{name} ({to_db(p.date)}) was visible for long but "
                                       "is not stored"))
        if row is None:
            continue
        last = p.last_change
        # re-checks look at posts younger than TGMON_RECHECK_WINDOW
        young = p.date + recheck_window
        if last > p.date and (_pushed(spans, last, life_end)
                              or _stretch(spans, last, min(life_end, young)) >= RECHECK):
            run.tally["edits that must be stored"] += 1
            if row["text"] != p.texts[-1][1]:
                out.append(_v("posts", f"{name} is stored with an old text; it was edited at "
                                       f"{to_db(last)}"))
        if p.deleted is not None and (_pushed(spans, p.deleted, end)
                                      or _stretch(spans, p.deleted, min(end, young)) >= RECHECK):
            run.tally["deletions that must be tombstones"] += 1
            if row["deleted_at"] is None:
                out.append(_v("tombstones", f"{name} was deleted at {to_db(p.deleted)} but "
                                            "has no tombstone"))
    return out


# ---- delivery: outbox <-> what people got ----

def _sent_messages(world: World) -> Counter[tuple[int, int]]:
    return Counter((m.chat_id, m.id) for m in world.chat_log if m.out and not m.edited)


STOPPED_NOTICE = "⛔ tgmon has stopped"


def check_delivery(world: World, db: sqlite3.Connection, end: datetime, *,
                   stopped: bool = False) -> list[Violation]:
    """Also that nothing is left pending at the end, unless tgmon stopped for good (then
    its one notice to each admin goes past the outbox)."""
    got = _sent_messages(world)
    texts = {(m.chat_id, m.id): m.text for m in world.chat_log if m.out and not m.edited}
    rows = list(db.execute(
        "SELECT id, chat_id, kind, status, message_id, edit_of, not_before, last_error, "
        "dedup_key FROM outbox"))
    out = []
    recorded: Counter[tuple[int, int]] = Counter()
    for r in rows:
        what = f"outbox {r['id']} ({r['kind']} to {r['chat_id']})"
        if r["status"] == "sent" and r["edit_of"] is None:
            key = (r["chat_id"], r["message_id"])
            recorded[key] += 1
            if r["message_id"] is None or got[key] == 0:
                out.append(_v("delivery", f"{what} is marked sent but nobody got it"))
        elif r["status"] == "pending" and not stopped and \
                from_db(r["not_before"]) <= end - timedelta(minutes=10):
            out.append(_v("delivery", f"{what} was never sent ({r['last_error'] or 'no error'})"))
        elif r["status"] == "failed":
            out.append(_v("delivery", f"{what} failed: {r['last_error']}"))
    notices: Counter[int] = Counter()
    for key in got:
        if recorded[key] == 0 and stopped and texts[key].startswith(STOPPED_NOTICE):
            notices[key[0]] += 1    # sent directly as the app stops (bot.telegram.account_watch)
            if notices[key[0]] > 1:
                out.append(_v("delivery", f"chat {key[0]} was told twice that tgmon stopped"))
            continue
        if recorded[key] != 1:
            state = "no outbox row" if recorded[key] == 0 else f"{recorded[key]} outbox rows"
            out.append(_v("delivery", f"message {key[1]} to {key[0]} has {state} "
                                      f"(sent twice?): {texts[key][:60]!r}"))
    return out


# ---- alerts ----

_LINK = re.compile(r"^🔗 (\S+)", re.MULTILINE)


def _alert_links(messages: Iterable[ChatMessage], mark: str) -> Iterator[tuple[int, str]]:
    for m in messages:
        if m.out and not m.edited and m.text.startswith(mark):
            found = _LINK.search(m.text)
            if found:
                yield m.chat_id, found.group(1)


def check_alerts(run: Run, db: sqlite3.Connection) -> list[Violation]:
    out = []
    for mark, what in (("📢", "alerted"), ("🗑", "told of the deletion of")):
        for (chat, link), n in Counter(_alert_links(run.world.chat_log, mark)).items():
            if n > 1:
                out.append(_v("alerts", f"chat {chat} was {what} {link} {n} times"))
    for r in db.execute(
            "SELECT a.chat_id, a.post_id, a.kind, o.status FROM alerts a JOIN outbox o "
            "ON o.id = a.outbox_id WHERE a.status = 'queued' AND o.edit_of IS NULL "
            "AND o.status NOT IN ('sent', 'dropped', 'pending')"):
        out.append(_v("alerts", f"the {r['kind']} alert of post {r['post_id']} to chat "
                                f"{r['chat_id']} ended {r['status']}"))
    out += _subscribed_alerts(run, db)
    return out


def _subscribed_alerts(run: Run, db: sqlite3.Connection) -> list[Violation]:
    """A chat subscribed to a channel (and never blocked) is alerted of every post of it
    captured after it subscribed, unless the post does not alert at all (too old,
    history of a newly watched channel)."""
    blocked_users = {e.action.user for e in run.scenario.events
                     if isinstance(e.action, Fault) and e.action.kind == "block_bot"}
    entries: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for r in db.execute("SELECT channel_id, added_at, removed_at FROM watched "
                        "WHERE channel_id IS NOT NULL"):
        entries[r[0]].append((from_db(r[1]), from_db_opt(r[2])))

    def watched_since(channel_id: int, at: datetime) -> datetime | None:
        """When the watch entry live at ``at`` was added (a channel watched again reads
        what it missed as history)."""
        live = [a for a, removed in entries[channel_id]
                if a <= at and (removed is None or removed > at)]
        return max(live, default=None)

    alerted = {(r[0], r[1]) for r in db.execute(
        "SELECT chat_id, post_id FROM alerts WHERE kind = 'new'")}
    out = []
    for r in db.execute(
            "SELECT s.chat_id, s.created_at, p.id, p.channel_id, p.message_id, p.date, "
            "c.at, c.captured_via FROM subscriptions s JOIN chats ch USING (chat_id) "
            "JOIN posts p ON p.channel_id = s.channel_id "
            "JOIN post_changes c ON c.post_id = p.id AND c.kind = 'new' "
            "WHERE ch.blocked_at IS NULL AND c.at > s.created_at"):
        via, posted, at = CapturePath(r[7]), from_db(r[5]), from_db(r[6])
        if r[0] in blocked_users or not alerts_new_post(via, posted, at,
                                                        watched_since(r[3], at)):
            continue
        run.tally["alerts that must be decided"] += 1
        if (r[0], r[2]) not in alerted:
            out.append(_v("alerts", f"chat {r[0]} subscribed at {r[1]} but was not alerted "
                                    f"of post {r[3]}/{r[4]} captured at {r[6]}"))
    return out


# ---- digests ----

@dataclass(frozen=True)
class DigestState:
    tz: str
    at: time
    days: tuple[str, ...]
    enabled: bool

    @property
    def plan(self) -> Plan:
        return Plan(self.at, self.days, self.tz)

    def due_at(self, moment: datetime) -> bool:
        return moment in _due_times(self, moment - timedelta(days=1), moment)


@dataclass(frozen=True)
class _Change:
    at: datetime                    # the message was sent
    by: datetime                    # ... and certainly handled
    certain: bool                   # the sender certainly may, and it certainly applies
    tz: str | None = None
    clock: time | None = None
    days: tuple[str, ...] | None = None
    enabled: bool | None = None
    now: bool = False               # /digest now

    def apply(self, s: DigestState) -> DigestState:
        return DigestState(self.tz or s.tz, self.clock or s.at,
                           s.days if self.days is None else self.days,
                           s.enabled if self.enabled is None else self.enabled)


class Access:
    """Whether a person may use the bot at a moment: True, False or None (unsure)."""

    def __init__(self, run: Run) -> None:
        self.settings = run.settings
        self.grants: dict[int, list[tuple[datetime, datetime, bool]]] = defaultdict(list)
        users = {u.username.lower(): u.id for u in run.scenario.users if u.username}
        for e in run.scenario.events:
            m = e.action
            if not isinstance(m, Message) or m.user not in self.settings.admins:
                continue
            cmd = _command(m.text)
            if cmd is None or cmd[0] not in ("allow", "deny"):
                continue
            ref = cmd[1].strip().lstrip("@")
            target = int(ref) if ref.isdigit() else users.get(ref.lower())
            if target is not None:
                self.grants[target].append((e.at, run.truth.answered_by(e.at),
                                            cmd[0] == "allow"))

    def member(self, user: int, moment: datetime) -> bool | None:
        s = self.settings
        if user in s.admins:
            return True
        grant: bool | None = None
        for at, by, allowed in self.grants[user]:
            if at <= moment <= by:
                return None
            if by < moment:
                grant = allowed
        if grant is False:
            return False
        return s.access == "open" or (s.access == "allowlist" and (
            grant is True or user in s.allowlist))

    def certain_member(self, user: int, start: datetime, end: datetime) -> bool:
        points = [start, end, *(t for g in self.grants[user] for t in g[:2]
                                if start <= t <= end)]
        return all(self.member(user, t) is True for t in points)


def _changes(run: Run, chat_id: int, access: Access) -> list[_Change]:
    out = []
    for at, m in messages_of(run.scenario, chat_id, run.end):
        cmd = _command(m.text)
        if cmd is None or cmd[0] not in ("digest", "timezone"):
            continue
        by = run.truth.answered_by(at)
        may = access.certain_member(m.user, at, by)
        words = cmd[1].split()
        change = _change_of(cmd[0], words, at, by, may)
        if change is not None:
            out.append(change)
    return out


def _change_of(name: str, words: list[str], at: datetime, by: datetime,
               may: bool) -> _Change | None:
    if name == "timezone":
        if len(words) != 1:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(words[0])
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return _Change(at, by, may, tz=words[0])
    first = words[0].lower() if words else ""
    if first in ("on", "off") and len(words) == 1:
        return _Change(at, by, may, enabled=first == "on")
    if first == "now" and len(words) == 1:
        return _Change(at, by, may, now=True)
    if first[:1].isdigit():
        try:
            clock = parse_clock(words[0])
            days = parse_days(" ".join(words[1:])) if len(words) > 1 else ()
        except ScheduleError:
            return None
        return _Change(at, by, may, clock=clock, days=days, enabled=True)
    return None


def possible_states(changes: Sequence[_Change], default: DigestState,
                    moment: datetime) -> set[DigestState]:
    """The schedules a chat may have at ``moment``: a change certainly made before it
    applies; one not certainly made (or still being made) may or may not."""
    states = {default}
    for c in changes:
        if c.at > moment or c.now:
            continue
        applied = {c.apply(s) for s in states}
        states = applied if c.certain and c.by < moment else states | applied
        if len(states) > 64:
            break
    return states


def _due_times(state: DigestState, start: datetime, end: datetime) -> list[datetime]:
    return list(due_times(state.plan, start, end)) if state.enabled else []


def _blocked_spans(run: Run, user: int) -> Spans:
    """When a person's chat may be marked blocked: from their block_bot until they
    next write to the bot (which clears the mark) and that is handled."""
    spans = []
    writes = [at for at, _ in messages_of(run.scenario, user, run.end)]
    for e in run.scenario.events:
        f = e.action
        if isinstance(f, Fault) and f.kind == "block_bot" and f.user == user:
            again = next((t for t in writes if t > e.at), None)
            spans.append((e.at, run.truth.answered_by(again) if again else run.end))
    return union(spans)


def _scheduled(db: sqlite3.Connection) -> dict[int, dict[datetime, sqlite3.Row]]:
    """Scheduled digests in the outbox: chat -> due time -> the first message's row."""
    out: dict[int, dict[datetime, sqlite3.Row]] = defaultdict(dict)
    for r in db.execute("SELECT chat_id, dedup_key, status, message_id, created_at FROM outbox "
                        "WHERE kind = 'digest' AND dedup_key LIKE 'digest:%:1'"):
        identity = r["dedup_key"].split(":", 2)[2].rsplit(":", 1)[0]
        if not identity.startswith("now:"):
            out[r["chat_id"]][from_db(identity)] = r
    return out


def check_digests(run: Run, db: sqlite3.Connection) -> list[Violation]:
    s = run.settings
    access = Access(run)
    default = DigestState(s.timezone, s.digest_time, (), True)
    sent = _scheduled(db)
    chats = {r[0]: r[1] for r in db.execute("SELECT chat_id, kind FROM chats")}
    out = []
    for chat_id, kind in chats.items():
        changes = _changes(run, chat_id, access)
        got = sent.get(chat_id, {})
        for due, row in got.items():
            states = possible_states(changes, default, due) | possible_states(
                changes, default, from_db(row["created_at"]))
            if not any(st.due_at(due) for st in states):
                out.append(_v("digests", f"chat {chat_id} got a digest for {to_db(due)}, "
                                         "when no schedule of it was due"))
            if kind == "private" and access.member(chat_id, due) is False and \
                    access.member(chat_id, from_db(row["created_at"])) is False:
                out.append(_v("digests", f"chat {chat_id} got a digest for {to_db(due)} but "
                                         "may not use the bot"))
        if kind != "private":
            continue
        for due in _required_digests(run, chat_id, changes, default, access):
            run.tally["digests that must go out"] += 1
            found = got.get(due)
            if found is None:
                out.append(_v("digests", f"chat {chat_id} did not get its digest due "
                                         f"{to_db(due)}"))
            elif found["status"] != "sent":
                out.append(_v("digests", f"the digest due {to_db(due)} to chat {chat_id} "
                                         f"ended {found['status']}"))
    return out


def _required_digests(run: Run, chat_id: int, changes: Sequence[_Change],
                      default: DigestState, access: Access) -> list[datetime]:
    """The due times at which a private chat certainly had a digest coming."""
    truth, scenario = run.truth, run.scenario
    writes = messages_of(scenario, chat_id, run.end)
    if not writes:
        return []
    known = truth.answered_by(writes[0][0])
    unsure = union([*((c.at, c.by) for c in changes), *_blocked_spans(run, chat_id)])
    candidates: set[datetime] = set()
    for st in possible_states(changes, default, run.end):
        candidates.update(_due_times(st, known, run.end - DIGEST_SETTLE))
    for c in changes:
        for st in possible_states(changes, default, c.at):
            candidates.update(_due_times(st, known, run.end - DIGEST_SETTLE))
    out = []
    for due in sorted(candidates):
        if inside(due, unsure) or access.member(chat_id, due) is not True:
            continue
        states = possible_states(changes, default, due)
        if len(states) != 1 or not next(iter(states)).due_at(due):
            continue
        (state,) = states
        if not _deliverable(run, state, due, changes):
            continue
        out.append(due)
    return out


def _deliverable(run: Run, state: DigestState, due: datetime,
                 changes: Sequence[_Change]) -> bool:
    """Whether tgmon runs at ``due``, or comes back soon enough after to send it: the
    latest due time of a downtime, within TGMON_DIGEST_GRACE, unless the schedule
    changed meanwhile (then earlier due times never count as missed)."""
    truth = run.truth
    restart = next((b + RESTART for a, b in truth.app_down if a <= due <= b + RESTART), None)
    if restart is None:
        return True
    if restart - due > run.settings.digest_grace - timedelta(minutes=10):
        return False
    if any(c.at <= restart and c.by >= due and not c.now for c in changes):
        return False
    return not _due_times(state, due + timedelta(seconds=1), restart)


# ---- Telegram's limits ----

def check_limits(world: World) -> list[Violation]:
    from telethon.tl import functions

    out = []
    media_messages = {m.id for m in world.chat_log if m.media is not None}
    for record in world.requests:
        req = record.request
        if record.role != "bot":
            continue
        if isinstance(req, functions.messages.SendMessageRequest):
            limit, what = TEXT_MAX, "message"
        elif isinstance(req, functions.messages.SendMediaRequest):
            limit, what = CAPTION_MAX, "caption"
        elif isinstance(req, functions.messages.EditMessageRequest):
            if req.message is None:
                continue
            limit, what = (CAPTION_MAX, "caption") if req.id in media_messages \
                else (TEXT_MAX, "message")
        else:
            continue
        text = req.message or ""
        at = to_db(record.at)
        units = utf16_len(text)
        if units > limit:
            out.append(_v("limits", f"a {what} of {units} UTF-16 units (limit {limit}) at {at}"))
        if what == "message" and not text.strip():
            out.append(_v("limits", f"an empty message at {at}"))
        out += [_v("limits", f"{problem} at {at}")
                for problem in entity_problems(text, req.entities or ())]
        for row in getattr(req.reply_markup, "rows", None) or ():
            for button in row.buttons:
                data = getattr(button, "data", None)
                if isinstance(data, bytes) and len(data) > CALLBACK_MAX:
                    out.append(_v("limits", f"callback data of {len(data)} bytes at {at}"))
    return out


def entity_problems(text: str, entities: Sequence[Any]) -> list[str]:
    """What is wrong with a message's entities: out of the text, empty, or overlapping
    without one containing the other."""
    units = utf16_len(text)
    out = []
    spans = []
    for e in entities:
        if e.offset < 0 or e.length <= 0 or e.offset + e.length > units:
            out.append(f"entity {type(e).__name__} ({e.offset}, {e.length}) outside a text "
                       f"of {units} units")
        spans.append((e.offset, e.offset + e.length))
    spans.sort(key=lambda s: (s[0], -s[1]))
    for i, (a, b) in enumerate(spans):
        for c, d in spans[i + 1:]:
            if c >= b:
                break
            if d > b:
                out.append(f"entities ({a}, {b}) and ({c}, {d}) overlap")
    return out


# ---- the log ----

_ENDED = "bot.telegram.account_watch: Telegram ended an account"


def check_errors(errors: Iterable[str], *, stopped: bool = False) -> list[Violation]:
    """Every ERROR line, but the one that says tgmon stops because an account ended."""
    return [_v("errors", message[:300]) for message in errors
            if not (stopped and message.startswith(_ENDED))]


# ---- when Telegram ends an account ----

ENDED_WITHIN = timedelta(minutes=20)    # the bot's next request may wait for 15 quiet minutes


def check_end(run: Run) -> list[Violation]:
    """tgmon stops, with the right account named, soon after Telegram ended an account
    (or at its next start, if it was down); never otherwise."""
    found = ending(run.scenario)
    if found is None:
        return [] if run.stopped is None else [
            _v("end", f"tgmon stopped at {to_db(run.stopped)} but no account was ended")]
    at, fault = found
    run.tally["account ends that must stop tgmon"] += 1
    back = run.truth.restart_after(at) or at
    if run.stopped is None:
        return [_v("end", f"the {fault.client} account ended at {to_db(at)} ({fault.kind}) "
                          "but tgmon went on")]
    out = []
    if not at <= run.stopped <= back + ENDED_WITHIN:
        out.append(_v("end", f"the {fault.client} account ended at {to_db(at)}; tgmon "
                             f"stopped at {to_db(run.stopped)}"))
    if run.stopped_role != fault.client:
        out.append(_v("end", f"the {fault.client} account ended; tgmon named the "
                             f"{run.stopped_role} one"))
    return out
