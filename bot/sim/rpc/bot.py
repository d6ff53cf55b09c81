"""The bot's side: sending messages and files to people and groups (with Telegram's
length and rate limits), editing and deleting them, uploads, callback answers."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Any

from telethon.tl import functions, types

from bot.sim import render
from bot.sim.limits import check_entities, check_text
from bot.sim.model import CallbackAnswer, ChatMessage, EntitySpec, Group, Person
from bot.sim.rpc.registry import Call, bots_only, handles
from bot.sim.tl import RpcFail, entity_type


@dataclass(frozen=True)
class Target:
    """Where the bot sends: a person's private chat or a group."""

    chat_id: int                    # Bot API style: user id, or -group id
    peer: Any                       # TL peer, as the bot's messages carry it
    person: Person | None
    group: Group | None

    def users(self, call: Call) -> list[Any]:
        me = render.account(call.account, call.account)
        return [render.person(self.person, call.account), me] if self.person else [me]

    def chats(self) -> list[Any]:
        return [render.group(self.group)] if self.group else []


def _target(call: Call, peer: Any) -> Target:
    world = call.world
    if isinstance(peer, types.InputPeerUser):
        person = world.input_person(call.account, peer)
        if person.blocked_bot:
            raise RpcFail(400, "USER_IS_BLOCKED")
        return Target(person.id, types.PeerUser(person.id), person, None)
    if isinstance(peer, types.InputPeerChat):
        group = world.groups.get(peer.chat_id)
        if group is None:
            raise RpcFail(400, "PEER_ID_INVALID")
        return Target(-group.id, types.PeerChat(group.id), None, group)
    if isinstance(peer, types.InputPeerChannel):
        raise RpcFail(403, "CHAT_WRITE_FORBIDDEN")
    raise NotImplementedError(f"the simulated bot cannot send to a {type(peer).__name__}")


def _buttons(markup: Any) -> tuple[bytes, ...]:
    """Callback data of every inline button (layer 229: KeyboardInlineButton + type)."""
    found = []
    for row in getattr(markup, "rows", None) or ():
        for button in row.buttons:
            data = getattr(getattr(button, "type", None), "data", None) \
                or getattr(button, "data", None)
            if isinstance(data, bytes):
                found.append(data)
    return tuple(found)


def _specs(entities: list[Any] | None) -> tuple[EntitySpec, ...]:
    return tuple(EntitySpec(entity_type(e), e.offset, e.length, getattr(e, "url", None))
                 for e in entities or ())


def _reply_to(req: Any) -> int | None:
    return getattr(req.reply_to, "reply_to_msg_id", None)


def chat_message_tl(call: Call, m: ChatMessage) -> types.Message:
    """A bot<->person message as the bot sees it."""
    group = m.chat_id < 0
    peer: Any = types.PeerChat(-m.chat_id) if group else types.PeerUser(m.chat_id)
    return types.Message(
        id=m.id, peer_id=peer, date=m.at, message=m.text, out=m.out,
        from_id=types.PeerUser(m.sender_id) if group or not m.out else None,
        entities=render.entities(m.entities), reply_markup=m.reply_markup, media=m.media,
        reply_to=types.MessageReplyHeader(reply_to_msg_id=m.reply_to) if m.reply_to else None,
        edit_date=m.at if m.edited else None)


def _send(call: Call, req: Any, media: Any = None, file: dict[str, Any] | None = None,
          ) -> tuple[Target, types.Message]:
    bots_only(call)
    world = call.world
    target = _target(call, req.peer)
    check_text(req.message, caption=media is not None)
    check_entities(req.message, req.entities)
    world.bot_limits.check(target.chat_id, group=target.group is not None, now=world.ts())
    call.account.last_message_id += 1
    record = ChatMessage(call.account.last_message_id, call.now, target.chat_id,
                         call.account.id, True, req.message, _specs(req.entities), file,
                         _buttons(req.reply_markup), req.reply_markup, media, _reply_to(req))
    world.chat_log.append(record)
    message = chat_message_tl(call, record)
    world.account_update(call.account, types.UpdateNewMessage(message, 0, 1),
                         users=target.users(call), chats=target.chats(), push=False)
    return target, message


@handles(functions.messages.SendMessageRequest)
def send_message(call: Call, req: Any) -> types.UpdateShortSentMessage:
    _, message = _send(call, req)
    return types.UpdateShortSentMessage(id=message.id, pts=call.account.pts, pts_count=1,
                                        date=message.date, out=True, entities=req.entities)


@handles(functions.messages.SendMediaRequest)
def send_media(call: Call, req: Any) -> types.Updates:
    media, file = _media(call, req.media)
    target, message = _send(call, req, media, file)
    return types.Updates(
        updates=[types.UpdateMessageID(id=message.id, random_id=req.random_id),
                 types.UpdateNewMessage(message, call.account.pts, 1)],
        users=target.users(call), chats=target.chats(), date=call.now, seq=0)


def _uploaded(call: Call, f: Any) -> bytes:
    parts = call.world.uploads.get(f.id, {})
    if sorted(parts) != list(range(f.parts)):
        raise RpcFail(400, "FILE_PARTS_INVALID")
    return b"".join(parts[i] for i in range(f.parts))


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    return 0, 0


def _media(call: Call, given: Any) -> tuple[Any, dict[str, Any]]:
    """Stored media for an ``InputMedia``, and the {name, size} a person would see."""
    world, now = call.world, call.now
    if isinstance(given, types.InputMediaUploadedPhoto):
        data = _uploaded(call, given.file)
        w, h = _png_size(data)
        pid = world.new_id()
        photo = types.Photo(id=pid, access_hash=pid ^ 0x5A5A, file_reference=b"sim", date=now,
                            sizes=[types.PhotoSize(type="y", w=w, h=h, size=len(data))],
                            dc_id=render.DC_ID)
        world.documents[pid] = (photo, given.file.name)
        return types.MessageMediaPhoto(photo=photo), {"name": given.file.name, "size": len(data)}
    if isinstance(given, types.InputMediaUploadedDocument):
        data = _uploaded(call, given.file)
        name = next((a.file_name for a in given.attributes
                     if isinstance(a, types.DocumentAttributeFilename)), given.file.name)
        did = world.new_id()
        doc = types.Document(id=did, access_hash=did ^ 0x5A5A, file_reference=b"sim", date=now,
                             mime_type=given.mime_type, size=len(data), dc_id=render.DC_ID,
                             attributes=given.attributes)
        world.documents[did] = (doc, name)
        return types.MessageMediaDocument(document=doc), {"name": name, "size": len(data)}
    if isinstance(given, types.InputMediaPhoto | types.InputMediaDocument):
        known = world.documents.get(given.id.id)
        if known is None:
            raise RpcFail(400, "MEDIA_INVALID")
        stored, name = known
        size = stored.size if isinstance(stored, types.Document) else stored.sizes[-1].size
        media = (types.MessageMediaDocument(document=stored) if isinstance(stored, types.Document)
                 else types.MessageMediaPhoto(photo=stored))
        return media, {"name": name, "size": size}
    raise NotImplementedError(f"the simulated bot cannot send {type(given).__name__}")


@handles(functions.upload.SaveFilePartRequest)
def save_file_part(call: Call, req: Any) -> bool:
    call.world.uploads.setdefault(req.file_id, {})[req.file_part] = req.bytes
    return True


@handles(functions.upload.SaveBigFilePartRequest)
def save_big_file_part(call: Call, req: Any) -> bool:
    call.world.uploads.setdefault(req.file_id, {})[req.file_part] = req.bytes
    return True


@handles(functions.messages.EditMessageRequest)
def edit_message(call: Call, req: Any) -> types.Updates:
    bots_only(call)
    world = call.world
    target = _target(call, req.peer)
    old = _latest(call, target.chat_id, req.id)
    if old is None or not old.out:
        raise RpcFail(400, "MESSAGE_ID_INVALID")
    text = old.text if req.message is None else req.message
    entities = old.entities if req.message is None else _specs(req.entities)
    markup = req.reply_markup if req.reply_markup is not None else old.reply_markup
    if (text, entities, _markup_bytes(markup)) == (old.text, old.entities,
                                                   _markup_bytes(old.reply_markup)):
        raise RpcFail(400, "MESSAGE_NOT_MODIFIED")
    check_text(text, caption=old.media is not None)
    check_entities(text, req.entities if req.message is not None else None)
    record = replace(old, at=call.now, text=text, entities=entities, reply_markup=markup,
                     buttons=_buttons(markup), edited=True)
    world.chat_log.append(record)
    message = chat_message_tl(call, record)
    pts = world.account_update(call.account, types.UpdateEditMessage(message, 0, 1),
                               users=target.users(call), chats=target.chats(), push=False)
    return types.Updates(updates=[types.UpdateEditMessage(message, pts, 1)],
                         users=target.users(call), chats=target.chats(), date=call.now, seq=0)


def _markup_bytes(markup: Any) -> bytes:
    return bytes(markup) if markup is not None else b""


def _latest(call: Call, chat_id: int | None, message_id: int) -> ChatMessage | None:
    return next((m for m in reversed(call.world.chat_log)
                 if m.id == message_id and (chat_id is None or m.chat_id == chat_id)), None)


@handles(functions.messages.DeleteMessagesRequest)
def delete_messages(call: Call, req: Any) -> types.messages.AffectedMessages:
    bots_only(call)
    ids = [i for i in req.id if _latest(call, None, i) is not None]
    if not ids:
        return types.messages.AffectedMessages(pts=call.account.pts, pts_count=0)
    pts = call.world.account_update(call.account, types.UpdateDeleteMessages(ids, 0, 1),
                                    users=[], chats=[], pts_count=len(ids), push=False)
    return types.messages.AffectedMessages(pts=pts, pts_count=len(ids))


@handles(functions.messages.GetMessagesRequest)
def get_messages(call: Call, req: Any) -> types.messages.Messages:
    """The bot's private and group messages by id (``event.get_message()`` and friends)."""
    bots_only(call)
    found = [_latest(call, None, getattr(i, "id", 0)) for i in req.id]
    people = {m.chat_id for m in found if m is not None and m.chat_id > 0}
    groups = {-m.chat_id for m in found if m is not None and m.chat_id < 0}
    return types.messages.Messages(
        messages=[chat_message_tl(call, m) if m is not None
                  else types.MessageEmpty(id=getattr(i, "id", 0), peer_id=None)
                  for m, i in zip(found, req.id, strict=True)],
        topics=[],
        chats=[render.group(call.world.groups[g]) for g in sorted(groups)
               if g in call.world.groups],
        users=[render.person(call.world.people[p], call.account) for p in sorted(people)
               if p in call.world.people])


@handles(functions.messages.SetBotCallbackAnswerRequest)
def set_bot_callback_answer(call: Call, req: Any) -> bool:
    bots_only(call)
    opened = call.world.open_queries.pop(req.query_id, None)
    if opened is None:
        raise RpcFail(400, "QUERY_ID_INVALID")
    call.world.callback_answers.append(
        CallbackAnswer(call.now, req.query_id, opened[0], req.message, bool(req.alert)))
    return True


@handles(functions.bots.SetBotCommandsRequest)
def set_bot_commands(call: Call, req: Any) -> bool:
    bots_only(call)
    call.world.bot_commands = [(c.command, c.description) for c in req.commands]
    return True


@handles(functions.messages.SetTypingRequest)
def set_typing(call: Call, req: Any) -> bool:
    _target(call, req.peer)
    return True
