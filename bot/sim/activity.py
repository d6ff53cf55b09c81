"""What happens in the simulated Telegram: channel posts, edits, deletions and view
counts, people writing to the bot and pressing its buttons, and the pushes that carry
them to connected clients (as ``Updates`` with pts and pts_count, like Telegram).

A mixin of :class:`bot.sim.world.World`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telethon.tl import types

from bot.sim import render
from bot.sim.files import SimFile
from bot.sim.model import (
    Account,
    AccountEvent,
    Channel,
    ChannelEvent,
    ChannelPost,
    ChatMessage,
    ContentSpec,
    EntitySpec,
    ForwardSpec,
    Group,
    MediaSpec,
    Person,
)
from storage.models import utf16_len

if TYPE_CHECKING:
    from bot.sim.limits import Faults
    from bot.sim.sender import SimSender

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


class Activity:
    # provided by World
    user: Account
    bot: Account
    channels: dict[int, Channel]
    groups: dict[int, Group]
    faults: Faults
    senders: list[SimSender]
    chat_log: list[ChatMessage]
    open_queries: dict[int, tuple[int, int]]
    files: dict[int, SimFile]
    _query_ids: Iterator[int]

    if TYPE_CHECKING:
        def now(self) -> datetime: ...
        def ts(self) -> float: ...
        def channel(self, ref: Any) -> Channel: ...
        def person(self, ref: Any) -> Person: ...
        def ended(self, sender: SimSender) -> str | None: ...
        def new_id(self) -> int: ...
        @property
        def accounts(self) -> dict[int, Account]: ...

    # ---- channels ----

    def post(self, channel: Any, text: str = "", *, id: int | None = None,
             date: datetime | None = None, entities: Iterable[EntitySpec] = (),
             views: int | None = None, forwards: int | None = None,
             reactions: dict[str, int] | None = None, media: MediaSpec | None = None,
             fwd_from: ForwardSpec | None = None, reply_to: int | None = None,
             grouped_id: int | None = None, author: str | None = None,
             push: bool = True, **more: Any) -> ChannelPost:
        """A new post (``id`` defaults to the next one); pushed to members unless
        ``push`` is false (history that exists before the simulation starts). ``more``:
        the other fields of :class:`ChannelPost` (``poll``, ``webpage``,
        ``restrictions``, ``noforwards``, ``pinned``, ``service``...)."""
        ch = self.channel(channel)
        mid = ch.last_id + 1 if id is None else id
        if mid <= ch.last_id:
            raise ValueError(f"post ids of {ch.ref()} must increase: {mid} after {ch.last_id}")
        p = ChannelPost(mid, date or self.now(), text, tuple(entities), views, forwards,
                        dict(reactions or {}), media, fwd_from, reply_to, grouped_id, author,
                        file=self._new_file(media, ch.id * 1_000_003 + mid), **more)
        ch.posts[mid] = p
        ch.last_id = mid
        ch.pts += 1
        ch.log.append(ChannelEvent(ch.pts, 1, "new", mid))
        if push:
            message = render.post(ch, p, self.ts())
            self._push_channel(ch, types.UpdateNewChannelMessage(message, ch.pts, 1), [p])
        if ch.discussion is not None and p.service is None:
            # Telegram forwards each post into the discussion group; comments answer it.
            group = self.channel(ch.discussion)
            copy = self.post(group, text, date=p.date, entities=entities, media=media,
                             push=push, fwd_from=ForwardSpec(ch.id, mid, p.date))
            ch.copies[mid] = copy.id
        return p

    def comment(self, channel: Any, post_id: int, text: str, *, from_id: int,
                reply_to: int | None = None, id: int | None = None,
                date: datetime | None = None, push: bool = True,
                **more: Any) -> ChannelPost:
        """A comment on ``channel``'s post ``post_id``, in its discussion group, by the
        person ``from_id``; ``reply_to`` answers another comment of the thread."""
        ch = self.channel(channel)
        if ch.discussion is None:
            raise ValueError(f"{ch.ref()} has no discussion group")
        parent = self._existing(ch, post_id)
        group = self.channel(ch.discussion)
        top = ch.copies[post_id]
        if reply_to is not None and self._existing(group, reply_to).thread != post_id:
            raise ValueError(f"comment {reply_to} is not in the thread of post {post_id}")
        c = self.post(group, text, id=id, date=date, push=push, from_id=from_id,
                      thread=post_id, reply_to=reply_to or top,
                      reply_top=top if reply_to else None, **more)
        parent.comments += 1
        parent.comments_max = max(parent.comments_max, c.id)
        return c

    def service(self, channel: Any, action: str, *, push: bool = True,
                date: datetime | None = None, **detail: Any) -> ChannelPost:
        """A service message: ``edit_title`` (``title=``, the channel's title changes),
        ``edit_photo``, ``pin_message`` (``message_id=``, the post becomes pinned),
        ``channel_create``."""
        ch = self.channel(channel)
        if action == "edit_title":
            ch.title = detail["title"]
        if action == "pin_message":
            self._existing(ch, detail["message_id"]).pinned = True
        return self.post(ch, date=date, push=push, service=action, service_detail=detail)

    def forward_of(self, channel: Any, message_id: int) -> ForwardSpec:
        """The forward header of a repost of ``channel``'s post ``message_id``."""
        ch = self.channel(channel)
        original = ch.posts[message_id]
        return ForwardSpec(channel_id=ch.id, message_id=message_id, date=original.date,
                           author=original.author)

    def _new_file(self, media: MediaSpec | None, seed: int) -> SimFile | None:
        """The file of a post's media, served by ``upload.getFile`` from now on."""
        if media is None:
            return None
        file = SimFile(self.new_id(), media, media.content or ContentSpec(), seed)
        self.files[file.id] = file
        return file

    def edit(self, channel: Any, message_id: int, text: str, *,
             entities: Iterable[EntitySpec] = (), media: MediaSpec | None = None,
             push: bool = True) -> ChannelPost:
        """A new version of a post's text (and with ``media``, of its media: the old
        file's references stop working, as the message no longer shows it)."""
        ch = self.channel(channel)
        p = self._existing(ch, message_id)
        p.text, p.entities, p.edit_date = text, tuple(entities), self.now()
        if media is not None:
            if p.file is not None:
                p.file.revoke()
            p.media = media
            p.file = self._new_file(media, self.new_id())
        ch.pts += 1
        update = types.UpdateEditChannelMessage(render.post(ch, p, self.ts()), ch.pts, 1)
        ch.log.append(ChannelEvent(ch.pts, 1, "other", update))
        if push:
            self._push_channel(ch, update, [p])
        return p

    def delete(self, channel: Any, message_ids: Iterable[int], *, push: bool = True) -> None:
        ch = self.channel(channel)
        ids = list(message_ids)
        for mid in ids:
            self._existing(ch, mid)
        for mid in ids:
            gone = ch.posts.pop(mid)
            if gone.file is not None:       # the message no longer shows its file
                gone.file.revoke()
            if gone.thread is not None and ch.linked is not None:
                parent = self.channel(ch.linked).posts.get(gone.thread)
                if parent is not None:
                    parent.comments -= 1
        ch.pts += len(ids)
        update = types.UpdateDeleteChannelMessages(ch.id, ids, ch.pts, len(ids))
        ch.log.append(ChannelEvent(ch.pts, len(ids), "other", update))
        if push:
            self._push_channel(ch, update, [])

    def set_views(self, channel: Any, message_id: int, *, views: int | None = None,
                  forwards: int | None = None,
                  reactions: dict[str, int] | None = None) -> ChannelPost:
        """New counters; Telegram does not push these, clients see them on the next read."""
        p = self._existing(self.channel(channel), message_id)
        if views is not None:
            p.views = views
        if forwards is not None:
            p.forwards = forwards
        if reactions is not None:
            p.reactions = dict(reactions)
        return p

    @staticmethod
    def _existing(ch: Channel, message_id: int) -> ChannelPost:
        if message_id not in ch.posts:
            raise KeyError(f"{ch.ref()} has no post {message_id}")
        return ch.posts[message_id]

    def _push_channel(self, ch: Channel, update: Any, posts: list[ChannelPost]) -> None:
        for acc_id in sorted(ch.members):
            acc = self.accounts[acc_id]
            chats = [render.channel(ch, acc), *self.origin_chats(acc, posts)]
            if self.deliver(acc, types.Updates(updates=[update], users=[], chats=chats,
                                               date=self.now(), seq=0)):
                acc.seen[ch.id] = ch.pts

    def origin_chats(self, acc: Account, posts: Iterable[ChannelPost]) -> list[Any]:
        """The channels that posts were forwarded from (Telegram sends them along)."""
        ids = {p.fwd.channel_id for p in posts if p.fwd and p.fwd.channel_id is not None}
        return [render.channel(self.channels[i], acc) for i in sorted(ids) if i in self.channels]

    # ---- people and the bot ----

    def user_writes(self, user: Any, text: str, *, group: Group | int | None = None) -> ChatMessage:
        """``user`` sends ``text`` to the bot (privately, or in ``group``, where the bot, in
        privacy mode, only sees /commands)."""
        p = self.person(user)
        g = self.groups[group] if isinstance(group, int) else group
        p.started_bot = True
        p.blocked_bot = False          # writing to a bot one blocked unblocks it
        bot = self.bot
        bot.last_message_id += 1
        entities = _command_entities(text)
        peer: Any = types.PeerUser(p.id) if g is None else types.PeerChat(g.id)
        record = ChatMessage(bot.last_message_id, self.now(), p.id if g is None else -g.id,
                             p.id, False, text, tuple(entities))
        if g is not None and not _COMMAND.match(text):
            return record              # privacy mode: bots see only commands in groups
        self.chat_log.append(record)
        message = types.Message(
            id=record.id, peer_id=peer, from_id=types.PeerUser(p.id), date=record.at,
            message=text, out=False, entities=render.entities(record.entities))
        self.account_update(bot, types.UpdateNewMessage(message, 0, 1),
                            users=[render.person(p, bot), render.account(bot, bot)],
                            chats=[render.group(g)] if g is not None else [])
        return record

    def press(self, user: Any, data: bytes | str, *, group: Group | int | None = None) -> int:
        """``user`` presses the inline button with ``data`` on the bot's latest message
        (in their private chat, or in ``group``) that has one. Returns the query id."""
        p = self.person(user)
        g = self.groups[group] if isinstance(group, int) else group
        raw = data.encode() if isinstance(data, str) else data
        chat_id = p.id if g is None else -g.id
        target, looked = None, set()
        for m in reversed(self.chat_log):           # the latest version of each message
            if m.out and m.chat_id == chat_id and m.id not in looked:
                looked.add(m.id)
                if raw in m.buttons:
                    target = m
                    break
        if target is None:
            raise LookupError(f"no message from the bot in chat {chat_id} has a button "
                              f"with data {raw!r}")
        query_id = next(self._query_ids)
        self.open_queries[query_id] = (p.id, target.id)
        peer: Any = types.PeerUser(p.id) if g is None else types.PeerChat(g.id)
        update = types.UpdateBotCallbackQuery(query_id=query_id, user_id=p.id, peer=peer,
                                              msg_id=target.id, chat_instance=chat_id,
                                              data=raw)
        self.deliver(self.bot, types.Updates(
            updates=[update], users=[render.person(p, self.bot)],
            chats=[render.group(g)] if g is not None else [], date=self.now(), seq=0))
        return query_id

    def account_update(self, acc: Account, update: Any, *, users: list[Any],
                       chats: list[Any], pts_count: int = 1, push: bool = True) -> int:
        """Give ``update`` the account's next pts and log it for getDifference; push it
        unless it is the answer to the account's own request."""
        acc.pts += pts_count
        update.pts, update.pts_count = acc.pts, pts_count
        acc.log.append(AccountEvent(acc.pts, pts_count, update, users, chats))
        if push:
            self.deliver(acc, types.Updates(updates=[update], users=users, chats=chats,
                                            date=self.now(), seq=0))
        return acc.pts

    # ---- delivery ----

    def deliver(self, acc: Account, updates: Any) -> bool:
        """Push to every connected client of ``acc``; False if none got it (no client,
        link down, or pushes dropped by a fault)."""
        if self.faults.dropping(acc.id, self.ts()):
            return False
        delivered = False
        for sender in self.senders:
            if sender.account is acc and sender.receiving() and self.ended(sender) is None:
                sender.push(updates)
                delivered = True
        return delivered


def _command_entities(text: str) -> list[EntitySpec]:
    """Telegram marks a leading /command in what people send."""
    match = _COMMAND.match(text)
    return [EntitySpec("bot_command", 0, utf16_len(match.group()))] if match else []
