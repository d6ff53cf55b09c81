"""What a chat's digest covers: its channels (its subscriptions, or the watch list),
the watched ones among them that cannot be read, and what its rules matched."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from bot.digest.rule_matches import RuleMatches, RuleTally
from bot.rules import CompiledRule, RuleSet, RuleSyntaxError, compile_rule
from bot.rules.backtest import search
from bot.rules.postwords import search_plan, union_plan
from storage.db import Database
from storage.digest_queries import Period
from storage.models import Channel
from storage.subscriptions import SavedRule, subscribed_channels
from storage.watchlist import WatchEntry, live_entries


@dataclass(frozen=True)
class Coverage:
    """What a chat's digest covers."""

    channel_ids: tuple[int, ...]
    subscribed: bool                     # its own subscriptions (else the watch list)
    unreadable: tuple[tuple[Channel, str], ...]


async def coverage(db: Database, chat_id: int,
                   entries: Sequence[WatchEntry] | None = None) -> Coverage:
    """The chat's subscriptions, or every resolved channel of the watch list if it has
    none; with the watch-list channels among them that cannot be read now."""
    if entries is None:
        entries = await live_entries(db)
    subscribed = tuple(c.channel_id for c in await subscribed_channels(db, chat_id))
    ids = subscribed or tuple(e.channel_id for e in entries if e.channel_id is not None)
    covered = set(ids)
    unreadable = tuple(
        (Channel(e.channel_id, e.username, e.title),
         f"{e.status}: {e.status_detail}" if e.status_detail else e.status)
        for e in entries if e.status != "ok" and e.channel_id in covered)
    return Coverage(ids, bool(subscribed), unreadable)


def compiled_rules(saved: Sequence[SavedRule]) -> list[tuple[str, CompiledRule]]:
    """A chat's live rules, compiled; a rule that no longer compiles (the language
    changed since it was saved) is left out."""
    rules = []
    for rule in saved:
        try:
            rules.append((rule.text, compile_rule(rule.text)))
        except RuleSyntaxError:
            continue
    return rules


async def tally_rules_of_many(db: Database, period: Period, channel_ids: Sequence[int],
                              rules: Mapping[int, Sequence[tuple[str, CompiledRule]]]
                              ) -> dict[int, tuple[RuleMatches, ...]]:
    """What each chat's rules matched among the period's posts, in one pass: the word
    index names the posts any of the rules may match, and each of those is analysed
    once and matched against every chat's rules through one RuleSet."""
    ruleset = RuleSet()
    owners: dict[Hashable, tuple[int, int]] = {}    # rule id -> (chat, its number there)
    tallies = {}
    plans = []
    for chat_id, chat_rules in rules.items():
        tallies[chat_id] = RuleTally([label for label, _ in chat_rules])
        for i, (_, compiled) in enumerate(chat_rules):
            number = len(owners)
            ruleset.add(number, compiled)
            owners[number] = (chat_id, i)
            plans.append(search_plan(compiled))
    if owners:
        found = search(db, union_plan(plans), ruleset.match, period.start, period.end,
                       channel_ids)
        async with aclosing(found) as posts:
            async for f in posts:
                assert f.checked is not None
                for matched, _match in f.checked.result:
                    chat_id, i = owners[matched]
                    tallies[chat_id].add(i, f.checked.stored)
    return {chat_id: tally.result() for chat_id, tally in tallies.items()}
