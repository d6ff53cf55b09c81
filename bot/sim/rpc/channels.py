"""Reading channels: resolving usernames, joining, dialogs, history and messages by id."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from telethon.tl import functions, types

from bot.sim import render
from bot.sim.model import Channel, ChannelPost, Person
from bot.sim.rpc.registry import Call, handles, unique, users_only
from bot.sim.tl import RpcFail

JOINED_CHANNELS_MAX = 500          # Telegram's default (Account.join_limit)
PAGE_MAX = 100


@handles(functions.contacts.ResolveUsernameRequest)
def resolve_username(call: Call, req: Any) -> types.contacts.ResolvedPeer:
    world, acc = call.world, call.account
    world.faults.check_resolve(acc.id, world.ts())
    found = world.find_username(req.username)
    if isinstance(found, Channel):
        return types.contacts.ResolvedPeer(peer=types.PeerChannel(found.id),
                                           chats=[render.channel(found, acc)], users=[])
    if found is None:
        raise RpcFail(400, "USERNAME_NOT_OCCUPIED")
    user = (render.person(found, acc) if isinstance(found, Person)
            else render.account(found, acc))
    return types.contacts.ResolvedPeer(peer=types.PeerUser(found.id), chats=[], users=[user])


@handles(functions.contacts.SearchRequest)
def search(call: Call, req: Any) -> types.contacts.Found:
    """Public channels whose title or username contains the query (any case), as
    Telegram's global search finds them; members' channels come first, in
    ``my_results``. Queries shorter than 3 characters answer ``QUERY_TOO_SHORT``."""
    users_only(call)
    query = req.q.strip().lower().lstrip("@")
    if len(query) < 3:
        raise RpcFail(400, "QUERY_TOO_SHORT")
    acc = call.account
    hits = [ch for ch in call.world.channels.values()
            if ch.username and acc.id not in ch.banned
            and (query in ch.username.lower() or query in ch.title.lower())][:req.limit]
    mine = [ch for ch in hits if acc.id in ch.members]
    others = [ch for ch in hits if acc.id not in ch.members]
    return types.contacts.Found(
        my_results=[types.PeerChannel(ch.id) for ch in mine],
        results=[types.PeerChannel(ch.id) for ch in others],
        chats=[render.channel(ch, acc) for ch in mine + others], users=[])


@handles(functions.channels.JoinChannelRequest)
def join_channel(call: Call, req: Any) -> types.Updates:
    users_only(call)
    world, acc = call.world, call.account
    ch = world.input_channel(acc, req.channel)
    if acc.id not in ch.members:
        if sum(acc.id in c.members for c in world.channels.values()) >= acc.join_limit:
            raise RpcFail(400, "CHANNELS_TOO_MUCH")
        world.join(acc, ch)
    return types.Updates(updates=[types.UpdateChannel(ch.id)], users=[],
                         chats=[render.channel(ch, acc)], date=call.now, seq=0)


@handles(functions.channels.LeaveChannelRequest)
def leave_channel(call: Call, req: Any) -> types.Updates:
    ch = call.world.input_channel(call.account, req.channel)
    if call.account.id not in ch.members:
        raise RpcFail(400, "USER_NOT_PARTICIPANT")
    ch.members.discard(call.account.id)
    return types.Updates(updates=[types.UpdateChannel(ch.id)], users=[],
                         chats=[render.channel(ch, call.account)], date=call.now, seq=0)


@handles(functions.channels.GetChannelsRequest)
def get_channels(call: Call, req: Any) -> types.messages.Chats:
    chats = [render.channel(call.world.input_channel(call.account, c), call.account)
             for c in req.id]
    return types.messages.Chats(chats=chats)


@handles(functions.channels.GetFullChannelRequest)
def get_full_channel(call: Call, req: Any) -> types.messages.ChatFull:
    ch = call.world.input_channel(call.account, req.channel)
    top = max(ch.posts, default=0)
    full = types.ChannelFull(
        id=ch.id, about="", read_inbox_max_id=top, read_outbox_max_id=0, unread_count=0,
        chat_photo=types.PhotoEmpty(id=0), notify_settings=types.PeerNotifySettings(),
        bot_info=[], pts=ch.pts, participants_count=len(ch.members),
        linked_chat_id=ch.discussion if ch.discussion is not None else ch.linked)
    chats = [render.channel(ch, call.account)]
    other = ch.discussion if ch.discussion is not None else ch.linked
    if other is not None:
        chats.append(render.channel(call.world.channels[other], call.account))
    return types.messages.ChatFull(full_chat=full, chats=chats, users=[])


@handles(functions.messages.GetDialogsRequest)
def get_dialogs(call: Call, req: Any) -> types.messages.Dialogs:
    """All joined channels, newest activity first, in one page (Telethon stops after a
    ``messages.Dialogs`` answer)."""
    users_only(call)
    acc = call.account
    if req.folder_id:                   # the archive: tgmon's account keeps none there
        return types.messages.Dialogs(dialogs=[], messages=[], chats=[], users=[])
    joined = [ch for ch in call.world.channels.values() if acc.id in ch.members]

    def latest(ch: Channel) -> float:
        top = max(ch.posts, default=0)
        return ch.posts[top].date.timestamp() if top else ch.created.timestamp()
    joined.sort(key=latest, reverse=True)
    tops = [(ch, ch.posts[max(ch.posts)]) for ch in joined if ch.posts]
    return types.messages.Dialogs(
        dialogs=[render.dialog(ch) for ch in joined],
        messages=[render.post(ch, p, call.world.ts()) for ch, p in tops],
        chats=unique([render.channel(ch, acc) for ch in joined]
                     + call.world.origin_chats(acc, [p for _, p in tops])),
        users=[])


@handles(functions.messages.GetHistoryRequest)
def get_history(call: Call, req: Any) -> types.messages.ChannelMessages:
    """Newest first from ``offset_id`` (exclusive) or ``offset_date``, shifted by
    ``add_offset``, at most 100, then clipped to (``min_id``, ``max_id``)."""
    users_only(call)
    ch = _channel_peer(call, req.peer)
    # Post ids only increase (Activity.post) and dicts keep insertion order, so the keys
    # are in ascending order: positions newest-first are found by bisection, and a
    # channel of 100k posts is not sorted on every request.
    ids = list(ch.posts)
    total = len(ids)
    if req.offset_id:
        start = total - bisect_left(ids, req.offset_id)
    elif req.offset_date and req.offset_date.timestamp() > 0:   # 0 on the wire = unset
        start = next((total - 1 - i for i in range(total - 1, -1, -1)
                      if ch.posts[ids[i]].date < req.offset_date), total)
    else:
        start = 0
    start += req.add_offset
    lo, hi = max(start, 0), max(start + min(req.limit, PAGE_MAX), 0)
    page = [ch.posts[ids[total - 1 - i]] for i in range(lo, min(hi, total))]
    if req.max_id:
        page = [p for p in page if p.id < req.max_id]
    if req.min_id:
        page = [p for p in page if p.id > req.min_id]
    return _channel_messages(call, ch, page, count=total)


@handles(functions.channels.GetMessagesRequest)
def get_channel_messages(call: Call, req: Any) -> types.messages.ChannelMessages:
    """By id; ids without a post come back as ``messageEmpty`` in place, or are left
    out when the world says so (``omit_missing_messages``)."""
    ch = call.world.input_channel(call.account, req.channel)
    found: list[ChannelPost | int] = []
    for given in req.id:
        mid = getattr(given, "id", None)
        if isinstance(given, types.InputMessageID) and mid in ch.posts:
            found.append(ch.posts[mid])
        elif not call.world.omit_missing_messages:
            found.append(int(mid or 0))
    return _channel_messages(call, ch, found, count=len(found))


def _thread(call: Call, req: Any) -> tuple[Channel, Channel, int]:
    """The channel, its discussion group and the group copy of post ``req.msg_id``."""
    ch = _channel_peer(call, req.peer)
    if ch.discussion is None or req.msg_id not in ch.copies:
        raise RpcFail(400, "MSG_ID_INVALID")
    return ch, call.world.channels[ch.discussion], ch.copies[req.msg_id]


def _people(call: Call, posts: list[Any]) -> list[Any]:
    world = call.world
    return unique([render.person(world.people[p.from_id], call.account) for p in posts
                   if isinstance(p, ChannelPost) and p.from_id in world.people])


@handles(functions.messages.GetDiscussionMessageRequest)
def get_discussion_message(call: Call, req: Any) -> types.messages.DiscussionMessage:
    """The discussion group's copy of a channel post."""
    users_only(call)
    ch, group, top = _thread(call, req)
    post = ch.posts[req.msg_id]
    return types.messages.DiscussionMessage(
        messages=[render.post(group, group.posts[top], call.world.ts())], unread_count=0,
        max_id=post.comments_max or None, read_inbox_max_id=0, read_outbox_max_id=0,
        chats=[render.channel(ch, call.account), render.channel(group, call.account)],
        users=[])


@handles(functions.messages.GetRepliesRequest)
def get_replies(call: Call, req: Any) -> types.messages.ChannelMessages:
    """A post's comments, newest first, paged like a history (``offset_id``,
    ``add_offset``, ``limit`` up to 100, then ``min_id`` and ``max_id``); readable
    without joining the group, as for a public one."""
    ch, group, _top = _thread(call, req)
    ids = [mid for mid, p in group.posts.items() if p.thread == req.msg_id]
    total = len(ids)
    start = total - bisect_left(ids, req.offset_id) if req.offset_id else 0
    start += req.add_offset
    lo, hi = max(start, 0), max(start + min(req.limit, PAGE_MAX), 0)
    page = [group.posts[ids[total - 1 - i]] for i in range(lo, min(hi, total))]
    if req.max_id:
        page = [p for p in page if p.id < req.max_id]
    if req.min_id:
        page = [p for p in page if p.id > req.min_id]
    return types.messages.ChannelMessages(
        pts=group.pts, count=total,
        messages=[render.post(group, p, call.world.ts()) for p in page],
        topics=[], chats=[render.channel(group, call.account), render.channel(ch, call.account)],
        users=_people(call, page))


def _channel_peer(call: Call, peer: Any) -> Channel:
    if not isinstance(peer, types.InputPeerChannel):
        raise NotImplementedError(f"the simulation reads channel history only, not "
                                  f"{type(peer).__name__}")
    return call.world.input_channel(call.account, peer)


def _channel_messages(call: Call, ch: Channel, items: list[Any],
                      count: int) -> types.messages.ChannelMessages:
    posts = [p for p in items if isinstance(p, ChannelPost)]
    messages = [render.post(ch, p, call.world.ts()) if isinstance(p, ChannelPost)
                else types.MessageEmpty(id=p, peer_id=types.PeerChannel(ch.id))
                for p in items]
    return types.messages.ChannelMessages(
        pts=ch.pts, count=count, messages=messages, topics=[],
        chats=unique([render.channel(ch, call.account),
                      *call.world.origin_chats(call.account, posts)]),
        users=_people(call, posts))


@handles(functions.messages.GetMessagesViewsRequest)
def get_messages_views(call: Call, req: Any) -> types.messages.MessageViews:
    """View and forward counts of posts (empty counters for ids without a post)."""
    users_only(call)
    ch = _channel_peer(call, req.peer)
    counts = []
    for mid in req.id:
        p = ch.posts.get(mid)
        if p is not None and req.increment:
            p.views = (p.views or 0) + 1
        counts.append(types.MessageViews(views=p.views, forwards=p.forwards)
                      if p is not None else types.MessageViews())
    return types.messages.MessageViews(views=counts, chats=[render.channel(ch, call.account)],
                                       users=[])
