"""What a scenario says happened, as the soak's invariants need it: every post's texts
over time and its deletion, and the spans in which tgmon could certainly see a channel
or answer a person (the app up, no fault in the way).

Pure functions of a :class:`~bot.sim.scenario.Scenario`; times are aware datetimes.
Spans are sorted lists of disjoint ``(start, end)`` pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.sim.scenario import Scenario
from bot.sim.scenario_events import Delete, Edit, Fault, Message, Post

Span = tuple[datetime, datetime]
Spans = list[Span]

# How long after a fault ends tgmon may still be catching up on it.
NO_UPDATES = timedelta(minutes=16)      # Telethon asks for a difference after 15 quiet minutes
RESTART = timedelta(minutes=3)          # an app start: connect, catch up, start components
SLACK = timedelta(minutes=2)            # a command's answer, a push's handling
# How long a client may still lag after a fault's own end: a lost push is noticed at
# the next one or after 15 quiet minutes; an unreachable Telegram is tried again with a
# backoff of up to 5 minutes.
AFTER = {"drop_updates": NO_UPDATES, "unreachable": timedelta(minutes=6)}


# ---- spans ----

def union(spans: Iterable[Span]) -> Spans:
    out: Spans = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(spans: Spans, cut: Spans) -> Spans:
    out: Spans = []
    for a, b in spans:
        pieces = [(a, b)]
        for c, d in cut:
            pieces = [p for x, y in pieces for p in ((x, min(y, c)), (max(x, d), y))
                      if p[1] > p[0]]
        out += pieces
    return union(out)


def intersect(spans: Spans, other: Spans) -> Spans:
    return union((max(a, c), min(b, d)) for a, b in spans for c, d in other
                 if min(b, d) > max(a, c))


def measure(spans: Spans) -> timedelta:
    return sum((b - a for a, b in spans), timedelta(0))


def inside(moment: datetime, spans: Spans) -> bool:
    return any(a <= moment <= b for a, b in spans)


# ---- posts ----

@dataclass
class PostTruth:
    channel: str                    # the scenario's username of its channel
    channel_id: int
    id: int
    date: datetime
    texts: list[tuple[datetime, str]]       # (since when, text), oldest first
    deleted: datetime | None = None

    def text_at(self, moment: datetime) -> str:
        return [text for since, text in self.texts if since <= moment][-1]

    @property
    def last_change(self) -> datetime:
        return self.texts[-1][0]

    def life(self, end: datetime) -> Span:
        return self.date, self.deleted or end


@dataclass
class Truth:
    scenario: Scenario
    stopped: datetime | None = None         # tgmon stopped for good (an account ended)
    posts: dict[tuple[int, int], PostTruth] = field(default_factory=dict)
    private_at: dict[str, datetime] = field(default_factory=dict)    # username -> when
    app_down: Spans = field(default_factory=list)
    user_faults: Spans = field(default_factory=list)    # capture may lag in these
    bot_faults: Spans = field(default_factory=list)     # commands may wait in these

    @property
    def start(self) -> datetime:
        return self.scenario.start

    @property
    def end(self) -> datetime:
        """The end of what was played: the scenario's, or when tgmon stopped for good."""
        return self.stopped or self.scenario.end

    @property
    def up(self) -> Spans:
        """When tgmon runs (after its start has settled)."""
        return subtract([(self.start, self.end)],
                        [(a, b + RESTART) for a, b in self.app_down])

    def restart_after(self, moment: datetime) -> datetime | None:
        """When the app came back from a downtime that covers ``moment``."""
        return next((b for a, b in self.app_down if a <= moment < b), None)

    def answered_by(self, moment: datetime) -> datetime:
        """A time by which a message sent to the bot at ``moment`` has certainly been
        handled: the end of any downtime or bot fault it fell into, and a little more."""
        t = moment
        for a, b in union([*self.bot_faults, *((a, b + RESTART) for a, b in self.app_down)]):
            if a <= t <= b:
                t = b
        return t + SLACK


def _client(f: Fault, role: str) -> bool:
    return f.client in (None, role)


def read_truth(scenario: Scenario, stopped: datetime | None = None) -> Truth:
    """What happened up to the scenario's end, or up to ``stopped`` (then the player
    played nothing after it)."""
    truth = Truth(scenario, stopped)
    ids = {c.username: c.id for c in scenario.channels}
    for c in scenario.channels:
        for p in c.history:
            assert p.date is not None
            truth.posts[(c.id, p.id)] = PostTruth(c.username, c.id, p.id, p.date,
                                                  [(p.date, p.text)])
    user, bot, down = [], [], []
    for event in scenario.events:
        at, action = event.at, event.action
        if at > truth.end:
            break
        if isinstance(action, Post):
            p = action.post
            cid = ids[p.channel]
            truth.posts[(cid, p.id)] = PostTruth(p.channel, cid, p.id, at, [(at, p.text)])
        elif isinstance(action, Edit):
            truth.posts[(ids[action.channel], action.id)].texts.append((at, action.text))
        elif isinstance(action, Delete):
            for mid in action.ids:
                truth.posts[(ids[action.channel], mid)].deleted = at
        elif isinstance(action, Fault):
            span = _fault_span(action, at)
            if action.kind == "app_down":
                assert span is not None
                down.append(span)
            elif action.kind == "channel_private":
                assert action.channel is not None
                truth.private_at.setdefault(action.channel, at)
            elif span is not None:
                a, b = span
                b += AFTER.get(action.kind, timedelta(0))
                if _client(action, "user"):
                    user.append((a, b))
                waits = action.kind in ("drop_updates", "disconnect", "unreachable") or (
                    action.kind == "flood_wait" and action.method == "updates.getDifference")
                if _client(action, "bot") and waits:
                    bot.append((a, b))
    truth.app_down, truth.user_faults, truth.bot_faults = union(down), union(user), union(bot)
    return truth


def _fault_span(f: Fault, at: datetime) -> Span | None:
    if f.until is not None:
        return at, f.until
    if f.seconds is not None:
        return at, at + timedelta(seconds=f.seconds)
    if f.kind == "disconnect":
        return at, at + timedelta(seconds=5)
    return None


ENDINGS = ("session_revoked", "account_banned")    # faults after which tgmon stops


def ending(scenario: Scenario) -> tuple[datetime, Fault] | None:
    """The first fault by which Telegram ends one of tgmon's accounts."""
    return next(((e.at, e.action) for e in scenario.events
                 if isinstance(e.action, Fault) and e.action.kind in ENDINGS), None)


def messages_of(scenario: Scenario, chat_id: int,
                end: datetime | None = None) -> list[tuple[datetime, Message]]:
    """What was written in a chat (Bot API style id: a person's id, or -group id)."""
    out = []
    for event in scenario.events:
        if end is not None and event.at > end:
            break
        m = event.action
        if isinstance(m, Message) and (m.user if m.chat is None else -m.chat) == chat_id:
            out.append((event.at, m))
    return out


def is_subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)
