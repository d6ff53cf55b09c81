"""Live capture through the real app and Telethon's real client against the simulated
Telegram: posts, edits, deletions, albums, the live set of channels, name changes,
a failing handler, and logs without post text or secrets."""

from __future__ import annotations

import logging

from capturekit import resolved, rows, until, versions

from bot.sim.model import MediaSpec
from bot.watcher.component import Watcher
from storage.channels import channel_names


def watcher_only():
    return [Watcher()]


def test_pushed_posts_edits_deletions_and_albums_are_captured_live(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    other = w.add_channel("someone_else", "Not watched")         # joined, but not watched
    s = sim.settings(watch=("legionoffreedom",))

    async def body():
        async with sim.running(components=watcher_only, settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            first = w.post(legion, "Началось. Бои в районе Тёткино.")
            photo = MediaSpec("photo", size=184320, width=1280, height=960)
            a1 = w.post(legion, "Колонна у Глотово", media=photo, grouped_id=31040001)
            a2 = w.post(legion, "", media=photo, grouped_id=31040001)
            w.post(other, "это не должно попасть в журнал")
            await until(lambda: _count(rt.db, legion.id, 3), timeout=300, step=1.0)
            w.edit(legion, first.id, "Началось. Бои в районе Тёткино и Козинки.")
            w.delete(legion, [a2.id])
            await until(lambda: _deleted(rt.db, legion.id, a2.id), timeout=300, step=1.0)
            got = await rows(rt.db, legion.id)
            texts = await versions(rt.db, legion.id)
            nothing = await rows(rt.db, other.id)
        return got, texts, nothing, first.id, a1.id, a2.id

    got, texts, nothing, first, a1, a2 = sim.run(body)
    assert set(got) == {first, a1, a2} and nothing == {}
    assert {r["captured_via"] for r in got.values()} == {"live"}
    assert texts[first] == ["Началось. Бои в районе Тёткино.",
                            "Началось. Бои в районе Тёткино и Козинки."]
    assert got[a1]["grouped_id"] == got[a2]["grouped_id"] == 31040001       # one album
    assert got[a1]["media_kind"] == "photo" and got[a1]["media_size"] == 184320
    assert got[a2]["deleted_at"] is not None and got[a1]["deleted_at"] is None


async def _count(db, channel_id, n):
    return len(await rows(db, channel_id)) >= n


async def _deleted(db, channel_id, message_id):
    r = (await rows(db, channel_id)).get(message_id)
    return r is not None and r["deleted_at"] is not None


def test_username_and_title_changes_are_recorded(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    s = sim.settings()

    async def body():
        async with sim.running(components=watcher_only, settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            w.change_username(legion, "legion_new")
            legion.title = "Легион «Свобода России»"
            w.post(legion, "после переименования")
            await until(lambda: _count(rt.db, legion.id, 1), timeout=300, step=1.0)
            names = await channel_names(rt.db, legion.id)
        return names

    names = sim.run(body)
    assert [(u, t) for u, t, _ in names] == [
        ("legionoffreedom", "Легион"), ("legion_new", "Легион «Свобода России»")]


def test_a_failing_handler_is_logged_without_text_and_capture_goes_on(sim, caplog,
                                                                       monkeypatch):
    import bot.telegram.live as live

    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    real = live.post_from_message

    def flaky(message):
        if "СЛОМАЙ" in message.message:
            raise ValueError(f"cannot convert {message.message}")
        return real(message)
    monkeypatch.setattr(live, "post_from_message", flaky)
    s = sim.settings()

    async def body():
        async with sim.running(components=watcher_only, settings=s) as (_app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            broken = w.post(legion, "СЛОМАЙ обработчик")
            fine = w.post(legion, "следующий пост")
            await until(lambda: _count(rt.db, legion.id, 1), timeout=300, step=1.0)
            early = await rows(rt.db, legion.id)
            # the reconcile poll finds what the handler dropped
            await until(lambda: _count(rt.db, legion.id, 2), timeout=600, step=1.0)
            got = await rows(rt.db, legion.id)
        return early, got, broken.id, fine.id

    with caplog.at_level(logging.INFO):
        early, got, broken, fine = sim.run(body)
    assert set(early) == {fine}
    assert got[broken]["captured_via"] == "catch-up" and got[fine]["captured_via"] == "live"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("ValueError" in e for e in errors)
    assert "СЛОМАЙ" not in caplog.text


def test_logs_hold_no_post_text_and_no_secrets(sim, caplog):
    """A run with pushes, catch-up, a flood wait, a private channel and the bot: no log
    line carries post text, the API hash or the bot token."""
    from bot.app import default_components
    from bot.logs import setup_logging

    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион")
    secret_channel = w.add_channel("rybar", "Рыбарь")
    admin = w.add_user("Ольга", id=100)
    secret = "ТАЙНЫЙТЕКСТПОСТА"
    w.post(legion, f"{secret} в истории", push=False)
    s = sim.settings(admins=frozenset({100}))
    setup_logging("DEBUG", [s.api_hash, s.bot_token])

    async def body():
        async with sim.running(components=default_components, settings=s) as (_app, rt):
            w.user_writes(admin, "/start")
            await until(lambda: resolved(rt.db, "rybar"), timeout=300, step=1.0)
            w.post(legion, f"{secret} живьём")
            w.flood_wait("messages.getHistory", 60, role="user")
            w.drop_updates(30, role="user")
            w.post(legion, f"{secret} пропущен")
            w.edit(legion, 1, f"{secret} правка")
            w.make_private(secret_channel)
            await until(lambda: _count(rt.db, legion.id, 3), timeout=900, step=1.0)
            w.user_writes(admin, "/status")
            await sim.until(lambda: any("Capture" in m.text for m in w.sent_by_bot(100)))

    with caplog.at_level(logging.DEBUG):
        sim.run(body)
    logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers
                                       if not getattr(h, "_tgmon", False)]
    ours = [r for r in caplog.records if r.name.startswith(("bot.", "tgmon.", "storage"))]
    assert any(r.name.startswith("bot.watcher") for r in ours)
    text = "\n".join(r.getMessage() for r in ours)
    assert secret not in text
    assert s.api_hash not in text and s.bot_token not in text
