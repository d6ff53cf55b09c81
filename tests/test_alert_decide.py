"""The dispatcher's decisions as a pure function (bot/alerts/decide.py): a batch of
loaded data in, alert records out, without a database or a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.decide import Found, Loaded, decide
from bot.alerts.format import Reason
from bot.alerts.plan import Alerted, Audience
from storage.alerts import LogChange
from storage.chats import Chat
from storage.models import CapturePath, Channel, Post, StoredPost

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
LEGION = Channel(777, "legionoffreedom", "Легион")
RYBAR = Channel(888, "rybar", "Рыбарь")
ANNA, IVAN, OLGA, BORIS = 200, 300, 400, 500


def stored(channel: Channel, message_id: int, text: str, version: int = 1) -> StoredPost:
    post = Post(channel.channel_id, message_id, NOW - timedelta(minutes=1), text)
    return StoredPost(post, channel, CapturePath.LIVE, NOW, NOW, version=version)


def chat(chat_id: int, **kw) -> Chat:
    base = dict(kind="private", title=None, timezone=None, muted_until=None,
                edit_alerts=True, blocked_at=None)
    base.update(kw)
    return Chat(chat_id, **base)


def subscribed(chat_id: int) -> Audience:
    return Audience(chat_id, (Reason(None),), (), (), True)


def batch(**kw) -> Loaded:
    base = dict(found=[], follows=[], posts={}, alerted={}, alert_id={}, outbox_of={},
                chats={}, origins={}, story_members={}, story_html={},
                default_tz="Europe/Moscow")
    base.update(kw)
    return Loaded(**base)


def test_a_new_post_alerts_each_chat_once_held_while_muted_and_never_a_blocked_chat():
    post = stored(LEGION, 10, "Бои в районе Тёткино")
    new = LogChange(1, "new", 1, NOW, CapturePath.LIVE, post_id=1)
    loaded = batch(found=[Found(new, post, [subscribed(c) for c in (ANNA, IVAN, OLGA)], {})],
                   chats={ANNA: chat(ANNA), IVAN: chat(IVAN, muted_until=NOW + timedelta(1)),
                          OLGA: chat(OLGA, blocked_at=NOW)})
    records = decide(loaded, NOW)
    assert [(r.chat_id, r.status) for r in records] == [(ANNA, "queued"), (IVAN, "held")]
    sent = records[0].message
    assert sent is not None and "Тёткино" in sent.html and sent.dedup_key == "alert:200:777:10"
    assert records[1].message is None
    assert loaded.alerted == {}             # what was decided is not written into the input


def test_a_repost_folds_into_the_first_alert_and_edits_it_to_name_the_repost():
    first = stored(LEGION, 10, "Бои в районе Тёткино")
    repost = stored(RYBAR, 20, "Бои в районе Тёткино")
    change = LogChange(2, "new", 1, NOW, CapturePath.LIVE, post_id=2)
    loaded = batch(found=[Found(change, repost, [subscribed(ANNA)], {1: "same text"})],
                   alerted={(ANNA, 1): Alerted(ANNA, 1, "queued", 5)},
                   alert_id={(ANNA, 1): 5}, outbox_of={(ANNA, 1): 9},
                   story_html={9: "📢 <b>Легион</b> first alert"}, chats={ANNA: chat(ANNA)},
                   posts={(1, 1): first})
    [record] = decide(loaded, NOW)
    assert record.status == "folded" and record.story_root == (ANNA, 1)
    assert record.target == (ANNA, 1) and record.edits_target
    assert record.message is not None and "first alert" in record.message.html
    assert "rybar" in record.message.html


def test_an_edit_alerts_the_chats_with_edits_on_that_were_sent_the_post():
    before, after = stored(LEGION, 10, "Бои у Тёткино"), stored(LEGION, 10, "Бои у Козинки", 2)
    edit = LogChange(3, "edit", 2, NOW, CapturePath.LIVE, post_id=1)
    loaded = batch(follows=[edit], posts={(1, 1): before, (1, 2): after},
                   alerted={(ANNA, 1): Alerted(ANNA, 1, "queued", 5),
                            (BORIS, 1): Alerted(BORIS, 1, "queued", 6),
                            (IVAN, 1): Alerted(IVAN, 1, "held", 7)},
                   chats={ANNA: chat(ANNA), BORIS: chat(BORIS, edit_alerts=False),
                          IVAN: chat(IVAN)})
    [record] = decide(loaded, NOW)
    assert (record.chat_id, record.kind, record.target) == (ANNA, "edit", (ANNA, 1))
    assert record.message is not None and "Козинки" in record.message.html
    assert record.message.dedup_key == "edit:200:777:10:2"
