"""A :class:`~bot.sim.world.World` as a scenario describes it at its start, and the
scenario's events applied to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.sim.model import ForwardSpec
from bot.sim.scenario import Scenario
from bot.sim.scenario_events import (
    Comment,
    Delete,
    Edit,
    Fault,
    Message,
    Post,
    Press,
    Views,
)
from bot.sim.scenario_posts import Forward, PostSpec
from bot.sim.world import World


def build_world(scenario: Scenario, *, clock: Callable[[], datetime] | None = None) -> World:
    world = World(clock=clock)
    for name in scenario.accounts[1:]:
        world.add_account(name)
    world.set_join_limit(scenario.limits.join_limit)
    for spec in scenario.channels:
        created = min((p.date for p in spec.history if p.date), default=scenario.start)
        ch = world.add_channel(spec.username, spec.title, id=spec.id, joined=spec.joined,
                               created=created)
        if spec.discussion is not None:
            world.add_discussion(ch, spec.discussion[1], id=spec.discussion[0])
        for p in spec.history:
            world.post(ch, push=False, **post_fields(world, p, p.date or scenario.start))
    for u in scenario.users:
        world.add_user(u.first_name, u.username, id=u.id, last_name=u.last_name)
    for g in scenario.groups:
        world.add_group(g.title, list(g.members), id=g.id)
    world.set_resolve_budget(scenario.limits.resolve_budget, scenario.limits.resolve_window)
    world.latency = scenario.limits.latency
    world.omit_missing_messages = scenario.limits.missing_messages == "omitted"
    world.file_reference_lifetime = scenario.limits.file_reference_lifetime
    return world


def post_fields(world: World, p: PostSpec, date: datetime) -> dict[str, Any]:
    return dict(id=p.id, text=p.text, date=date, entities=p.entities, views=p.views,
                forwards=p.forwards, reactions=dict(p.reactions), media=p.media,
                fwd_from=_forward(world, p.fwd_from, date) if p.fwd_from else None,
                reply_to=p.reply_to, grouped_id=p.grouped_id, author=p.author,
                poll=p.poll, webpage=p.webpage, restrictions=p.restrictions,
                noforwards=p.noforwards, pinned=p.pinned)


def _forward(world: World, f: Forward, date: datetime) -> ForwardSpec:
    if f.channel is not None and f.id is not None:
        return world.forward_of(f.channel, f.id)
    return ForwardSpec(name=f.name, date=date)


def apply_to_world(world: World, action: Any) -> None:
    """Apply one event's action, except ``app_down`` (the player's business)."""
    match action:
        case Post(post=p):
            world.post(p.channel, **post_fields(world, p, world.now()))
        case Comment():
            world.comment(action.channel, action.post, action.text, from_id=action.user,
                          reply_to=action.reply_to, id=action.id)
        case Edit():
            world.edit(_where(world, action.channel, action.comment), action.id, action.text,
                       entities=action.entities, media=action.media)
        case Delete():
            world.delete(_where(world, action.channel, action.comment), action.ids)
        case Views():
            world.set_views(action.channel, action.id, views=action.views,
                            forwards=action.forwards,
                            reactions=dict(action.reactions) if action.reactions is not None
                            else None)
        case Message():
            world.user_writes(action.user, action.text, group=action.chat)
        case Press():
            world.press(action.user, action.data, group=action.chat)
        case Fault():
            _fault(world, action)
        case _:
            raise TypeError(f"unknown scenario action {action!r}")


def _where(world: World, channel: str, comment: bool) -> Any:
    """The channel, or its discussion group for an edit or deletion of a comment."""
    ch = world.channel(channel)
    if comment:
        assert ch.discussion is not None
        return world.channel(ch.discussion)
    return ch


def _fault(world: World, f: Fault) -> None:
    if f.kind == "drop_updates":
        assert f.until is not None
        world.drop_updates((f.until - world.now()).total_seconds(), role=f.client,
                           account=f.account)
    elif f.kind == "disconnect":
        world.disconnect(f.seconds or 5.0, role=f.client, account=f.account)
    elif f.kind == "unreachable":
        assert f.seconds is not None
        world.unreachable(f.seconds, role=f.client, account=f.account)
    elif f.kind == "flood_wait":
        assert f.method is not None and f.seconds is not None
        world.flood_wait(f.method, f.seconds, role=f.client, account=f.account)
    elif f.kind in ("block_bot", "unblock_bot"):
        assert f.user is not None
        world.block_bot(f.user, f.kind == "block_bot")
    elif f.kind == "channel_private":
        assert f.channel is not None
        world.make_private(f.channel)
    elif f.kind == "username_change":
        assert f.channel is not None
        world.change_username(f.channel, f.to)
    elif f.kind == "session_revoked":
        assert f.client is not None
        world.revoke_sessions(f.client, f.account)
    elif f.kind == "account_banned":
        assert f.client is not None
        world.ban(f.client, f.account)
    elif f.kind == "file_reference_expired":
        assert f.channel is not None and f.id is not None
        world.expire_file_references(f.channel, f.id)
    else:
        raise ValueError(f"fault {f.kind!r} is not applied to the world")
