"""Update state and differences: what a client missed, by account pts and by channel pts.

As on Telegram, the account difference reports channels with activity the account was
not given as ``updateChannelTooLong``, and a channel difference with more missed updates
than the client's limit (100 for users) answers "too long" with the latest message only.
"""

from __future__ import annotations

from typing import Any

from telethon.tl import functions, types

from bot.sim import render
from bot.sim.rpc.registry import Call, handles, unique

CHANNEL_DIFF_TIMEOUT = 30


@handles(functions.updates.GetStateRequest)
def get_state(call: Call, req: Any) -> types.updates.State:
    return render.state(call.account, call.now)


@handles(functions.updates.GetDifferenceRequest)
def get_difference(call: Call, req: Any) -> Any:
    world, acc = call.world, call.account
    events = [e for e in acc.log if e.pts > req.pts]
    behind = [ch for ch in world.channels.values()
              if acc.id in ch.members and ch.pts > acc.seen.get(ch.id, 0)]
    if not events and not behind:
        return types.updates.DifferenceEmpty(date=call.now, seq=0)
    new_messages = [e.update.message for e in events
                    if isinstance(e.update, types.UpdateNewMessage)]
    other: list[Any] = [e.update for e in events
                        if not isinstance(e.update, types.UpdateNewMessage)]
    other += [types.UpdateChannelTooLong(channel_id=ch.id, pts=ch.pts) for ch in behind]
    users = unique([u for e in events for u in e.users])
    chats = unique([c for e in events for c in e.chats]
                   + [render.channel(ch, acc) for ch in behind])
    return types.updates.Difference(new_messages=new_messages, new_encrypted_messages=[],
                                    other_updates=other, chats=chats, users=users,
                                    state=render.state(acc, call.now))


@handles(functions.updates.GetChannelDifferenceRequest)
def get_channel_difference(call: Call, req: Any) -> Any:
    world, acc = call.world, call.account
    ch = world.input_channel(acc, req.channel)
    missed = [e for e in ch.log if e.pts > req.pts]
    if acc.id in ch.members:
        acc.seen[ch.id] = ch.pts
    chats = [render.channel(ch, acc)]
    if not missed:
        return types.updates.ChannelDifferenceEmpty(pts=ch.pts, final=True,
                                                    timeout=CHANNEL_DIFF_TIMEOUT)
    if len(missed) > req.limit:
        top = max(ch.posts, default=0)
        latest = [render.post(ch, ch.posts[top], call.world.ts())] if top else []
        return types.updates.ChannelDifferenceTooLong(
            dialog=render.dialog(ch), messages=latest,
            chats=chats + world.origin_chats(acc, [ch.posts[top]] if top else []),
            users=[], final=True, timeout=CHANNEL_DIFF_TIMEOUT)
    posts = [ch.posts[e.ref] for e in missed if e.kind == "new" and e.ref in ch.posts]
    return types.updates.ChannelDifference(
        pts=ch.pts, final=True, timeout=CHANNEL_DIFF_TIMEOUT,
        new_messages=[render.post(ch, p, call.world.ts()) for p in posts],
        other_updates=[e.ref for e in missed if e.kind == "other"],
        chats=chats + world.origin_chats(acc, posts), users=[])
