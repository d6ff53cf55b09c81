"""Which changes of the log alert whom, and why: pure decisions over plain data (the
dispatcher gathers the data and records the outcome)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.format import Reason
from bot.rules.match import Match, Span, merge_spans
from storage.models import CapturePath, Media

# A post captured more than this after it was posted does not alert (tgmon was down for
# long, or the dispatcher is far behind): a day-old flood helps no one; digests cover it.
MAX_AGE = timedelta(hours=24)
# A live post alerted this long after it was posted is labelled late too.
LATE_AFTER = timedelta(minutes=10)
# History read on request (backfill, import) never alerts.
ALERTING_PATHS = frozenset({CapturePath.LIVE, CapturePath.CATCH_UP})


def alerts_new_post(captured_via: CapturePath, posted: datetime, now: datetime,
                    watched_since: datetime | None = None) -> bool:
    """Whether a new post alerts anyone. A post read by catch-up that was published
    before its channel joined the watch list is the channel's history (the first read
    of a channel takes in its last ``TGMON_INITIAL_WINDOW``), not news tgmon missed."""
    if captured_via not in ALERTING_PATHS or now - posted > MAX_AGE:
        return False
    return not (captured_via == CapturePath.CATCH_UP and watched_since is not None
                and posted < watched_since)


def lateness(captured_via: CapturePath, posted: datetime, now: datetime) -> timedelta | None:
    """How late an alert is, when it is to be labelled late (None: it is not)."""
    late = max(now - posted, timedelta(0))
    if captured_via == CapturePath.CATCH_UP or late > LATE_AFTER:
        return late
    return None


def edit_alerts(old_text: str, old_media: Media | None, new_text: str,
                new_media: Media | None) -> bool:
    """An edit is worth an alert when the text or the kind of media changed (a new
    version can also be a re-upload of the same media)."""
    kind = (old_media.kind if old_media else None, new_media.kind if new_media else None)
    return old_text != new_text or kind[0] != kind[1]


@dataclass(frozen=True)
class RuleInfo:
    rule_id: int
    chat_id: int
    number: int                 # its number in the chat's /alerts
    text: str


@dataclass(frozen=True)
class Audience:
    """A chat a new post alerts, and why."""

    chat_id: int
    reasons: tuple[Reason, ...]
    spans: tuple[Span, ...]
    rule_ids: tuple[int, ...]
    subscribed: bool

    def describe(self) -> str:
        """One line for the alert record: ``rule 2: Курск OR Kursk; subscription``."""
        parts = [f"rule {r.rule_number}: {r.rule}" for r in self.reasons
                 if r.rule_number is not None]
        if self.subscribed:
            parts.append("subscription")
        return "; ".join(parts)


def audiences(matches: Sequence[tuple[Hashable, Match]], rules: Mapping[Any, RuleInfo],
              subscribed: Iterable[int]) -> list[Audience]:
    """Every chat a post alerts, once, with every rule of it that matched (in /alerts
    order) and its subscription; the matched words of all its rules together."""
    by_chat: dict[int, list[tuple[RuleInfo, Match]]] = {}
    for rule_id, match in matches:
        info = rules.get(rule_id)
        if info is not None:
            by_chat.setdefault(info.chat_id, []).append((info, match))
    subs = set(subscribed)
    out = []
    for chat_id in sorted(by_chat.keys() | subs):
        found = sorted(by_chat.get(chat_id, ()), key=lambda im: im[0].number)
        reasons = tuple(Reason(info.number, info.text, found_words(m)) for info, m in found)
        if chat_id in subs:
            reasons += (Reason(None),)
        spans = merge_spans(s for _, m in found for s in m.spans)
        out.append(Audience(chat_id, reasons, spans, tuple(info.rule_id for info, _ in found),
                            chat_id in subs))
    return out


def found_words(match: Match, shown: int = 5) -> str:
    """What a rule found, once each: ``Тёткино, Tyotkino``; the rule's reason when it
    found no words (``from:rybar``)."""
    seen: dict[str, str] = {}
    for hit in match.hits:
        for word in hit.found:
            seen.setdefault(word.casefold(), word)
    if not seen:
        return match.reason
    words = list(seen.values())
    more = f" +{len(words) - shown}" if len(words) > shown else ""
    return ", ".join(words[:shown]) + more


@dataclass(frozen=True)
class Alerted:
    """A new-post alert a chat already has: recorded, or decided earlier in this batch."""

    chat_id: int
    post_id: int
    status: str                         # queued, held, released, folded
    order: int                          # earlier alerts have smaller numbers
    root: tuple[int, int] | None = None     # folded: (chat, post) of the story's first

    @property
    def key(self) -> tuple[int, int]:
        return self.chat_id, self.post_id


def story_root(chat_id: int, related: Iterable[int],
               known: Mapping[tuple[int, int], Alerted]) -> Alerted | None:
    """The first alert of the story a post belongs to, if the chat had one: the
    earliest alert of the related posts, or the alert that one was folded into."""
    hits = [known[(chat_id, p)] for p in related if (chat_id, p) in known]
    if not hits:
        return None
    first = min(hits, key=lambda a: a.order)
    if first.root is not None:
        return known.get(first.root, first)
    return first
