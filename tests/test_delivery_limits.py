"""The limiter keeps Telegram's send limits while staying close to them."""

from __future__ import annotations

from bisect import bisect_left
from datetime import timedelta
from itertools import pairwise

from bot.delivery.limits import RateLimiter
from storage import outbox
from storage.chats import touch


def schedule(targets, start=1000.0):
    """Send each (chat, is_group) as early as the limiter allows; return send times."""
    lim, t, times = RateLimiter(), start, []
    for chat, group in targets:
        t = lim.earliest(chat, group, t)
        lim.record(chat, group, t)
        times.append((t, chat, group))
    return times


def max_in_window(ts, width):
    ts = sorted(ts)
    return max(i - bisect_left(ts, t - width + 1e-9) + 1 for i, t in enumerate(ts))


def test_fan_out_stays_under_30_per_second_and_near_it():
    times = schedule([(chat, False) for chat in range(3000)])
    ts = [t for t, _, _ in times]
    assert max_in_window(ts, 1.0) <= 30
    rate = len(ts) / (ts[-1] - ts[0])
    assert rate >= 0.9 * 30


def test_one_message_per_second_per_chat_and_twenty_per_minute_per_group():
    times = schedule([(7, False)] * 10 + [(-100900, True)] * 45)
    private = [t for t, c, _ in times if c == 7]
    assert all(b - a >= 1.0 for a, b in pairwise(private))
    group = [t for t, c, _ in times if c == -100900]
    assert max_in_window(group, 60.0) <= 20


async def test_outbox_dedup_order_and_drop(db, t0):
    await touch(db, chat_id=-100500, kind="group", title="Desk", user_id=1, first_name="A",
                username=None, now=t0)
    alert = outbox.OutMessage(5, "alert", "<b>post</b>", dedup_key="alert:5:1")
    assert await outbox.put(db, alert, t0) is True
    assert await outbox.put(db, alert, t0) is False          # a replay enqueues nothing
    await outbox.put(db, outbox.OutMessage(5, "reply", "ok"), t0)
    later = outbox.OutMessage(-100500, "digest", "d", not_before=t0 + timedelta(hours=1))
    await outbox.put(db, later, t0)
    due = await outbox.due(db, t0)
    assert [(p.message.kind, p.chat_kind) for p in due] == [("reply", "private"),
                                                           ("alert", "private")]
    assert await outbox.next_due_time(db) == t0
    assert [p.chat_kind for p in await outbox.due(db, t0 + timedelta(hours=1))][-1] == "group"
    assert await outbox.drop_chat(db, 5, "UserIsBlockedError") == 2
    assert await outbox.pending_count(db) == 1
