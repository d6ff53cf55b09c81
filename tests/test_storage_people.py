"""Watch list, chats, grants, subscriptions and rules in SQLite."""

from __future__ import annotations

from datetime import timedelta

from storage.channels import save_channel
from storage.chats import find_user, get_chat, grant, grant_of, mark_blocked, touch
from storage.models import Channel
from storage.subscriptions import (
    add_rule,
    delete_rule,
    live_rules,
    subscribe,
    subscribed_channels,
    unsubscribe,
)
from storage.watchlist import (
    add_entry,
    find_entry,
    live_entries,
    remove_entry,
    set_resolved,
    sync_config,
)


async def test_config_sync_adds_relabels_and_retires(db, t0):
    await sync_config(db, [("rybar", "Rybar"), ("vvgladkov", "Belgorod")], t0)
    admin = await add_entry(db, "wargonzo", None, 1, t0)
    await sync_config(db, [("Rybar", "Rybar (milblogger)")], t0 + timedelta(hours=1))
    entries = {e.username.lower(): e for e in await live_entries(db)}
    assert set(entries) == {"rybar", "wargonzo"}          # vvgladkov retired, admin entry kept
    assert entries["rybar"].label == "Rybar (milblogger)"
    assert entries["wargonzo"].id == admin.id and admin.source == "admin"


async def test_resolution_and_lookup_by_username_or_id(db, t0):
    await sync_config(db, [("legionoffreedom", "Legion")], t0)
    entry = await find_entry(db, "@LegionOfFreedom")
    assert entry and not entry.resolved and entry.status == "pending"
    await save_channel(db, Channel(777, "legionoffreedom", "Легион"), t0)
    await set_resolved(db, entry.id, 777, 12345, t0)
    by_id = await find_entry(db, "-100777")
    assert by_id and by_id.resolved and by_id.title == "Легион" and by_id.access_hash == 12345
    await remove_entry(db, entry.id, t0)
    assert await find_entry(db, "legionoffreedom") is None
    # re-adding after removal makes a new live entry
    again = await add_entry(db, "legionoffreedom", "Legion", 1, t0)
    assert again.id != entry.id


async def test_chats_remember_blocks_until_written_again_and_people_by_username(db, t0):
    await touch(db, chat_id=42, kind="private", title="Анна", user_id=42, first_name="Анна",
                username="anna_osint", now=t0)
    await mark_blocked(db, 42, t0)
    assert (await get_chat(db, 42)).blocked_at == t0
    # writing again clears the block
    await touch(db, chat_id=42, kind="private", title="Анна", user_id=42, first_name="Анна",
                username="anna_osint", now=t0 + timedelta(minutes=1))
    assert (await get_chat(db, 42)).blocked_at is None
    assert (await find_user(db, "@ANNA_osint")).user_id == 42
    assert await grant_of(db, 42) is None
    await grant(db, 42, True, 1, t0)
    await grant(db, 42, False, 1, t0)
    assert await grant_of(db, 42) is False


async def test_subscriptions_and_rules_are_added_once_and_removed(db, t0):
    await touch(db, chat_id=-100500, kind="group", title="Desk", user_id=42, first_name="Анна",
                username=None, now=t0)
    await save_channel(db, Channel(777, "rybar", "Рыбарь"), t0)
    assert await subscribe(db, -100500, 777, 42, t0) is True
    assert await subscribe(db, -100500, 777, 42, t0) is False
    assert [c.username for c in await subscribed_channels(db, -100500)] == ["rybar"]
    assert await unsubscribe(db, -100500, 777) is True
    assert await subscribed_channels(db, -100500) == []
    r1 = await add_rule(db, -100500, "Тёткино OR Tyotkino", 42, t0)
    r2 = await add_rule(db, -100500, "курск танк", 42, t0)
    await delete_rule(db, r1.id, t0)
    assert [r.text for r in await live_rules(db, -100500)] == [r2.text]
