"""Media in alerts and digests, through the whole app against the simulated Telegram:
an alert of a photo post goes with the photo (the alert as its caption, within 1024
units), a long post's caption is cut, without the file the alert is text, and the same
photo re-posted by another channel (resized, re-compressed) joins the first alert's
story ("same photo")."""

from __future__ import annotations

from alertkit import ANNA, alerts, people, quiet, settings
from capturekit import resolved, until

from bot.app import default_components
from bot.delivery.fit import CAPTION_LIMIT
from bot.sim.model import ContentSpec, MediaSpec
from storage.models import utf16_len

LONG = ("Бои в районе Тёткино продолжаются. " * 60).strip()


def photo(seed, width=1280, height=960, quality=85):
    return MediaSpec("photo", width=width, height=height,
                     content=ContentSpec(seed=seed, quality=quality))


def test_a_photo_posts_alert_goes_with_the_photo_as_its_caption(sim):
    _admin, anna, _ivan, _olga = people(sim)
    legion = sim.world.add_channel("legionoffreedom", "Легион")

    async def body():
        s = settings(sim)
        async with sim.running(default_components, settings=s) as (app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            await sim.ask(anna, "/alert Тёткино")
            short = sim.world.post(legion, "Колонна у Тёткино", media=photo(1))
            long = sim.world.post(legion, LONG, media=photo(2))
            await sim.until(lambda: len(alerts(sim, ANNA)) == 2, timeout=300)
            await quiet(sim, app, timeout=300)
            return short, long

    short, long = sim.run(body)
    first, second = alerts(sim, ANNA)
    assert first.file is not None and first.file["size"] == short.file.size
    assert "Колонна у Тёткино" in first.text and first.text.startswith("📢")
    assert utf16_len(second.text) <= CAPTION_LIMIT
    assert second.file is not None and second.file["size"] == long.file.size
    assert second.text.count("…") >= 1                                # the text was cut
    assert "https://t.me/legionoffreedom/2" in [e.url for e in second.entities]


def test_without_its_file_a_photo_posts_alert_is_text(sim):
    _admin, anna, _ivan, _olga = people(sim)
    legion = sim.world.add_channel("legionoffreedom", "Легион")

    async def body():
        s = settings(sim, media=("video",))                  # photos are not downloaded
        async with sim.running(default_components, settings=s) as (app, rt):
            await until(lambda: resolved(rt.db, "legionoffreedom"), timeout=300, step=1.0)
            await sim.ask(anna, "/alert Тёткино")
            sim.world.post(legion, LONG, media=photo(1))
            await sim.until(lambda: alerts(sim, ANNA), timeout=300)
            await quiet(sim, app, timeout=300)

    sim.run(body)
    [alert] = alerts(sim, ANNA)
    assert alert.file is None and "📷 photo" in alert.text
    assert utf16_len(alert.text) > CAPTION_LIMIT              # the text form: 4096 units


def test_the_same_photo_reposted_by_another_channel_joins_the_first_alerts_story(sim):
    _admin, anna, _ivan, _olga = people(sim)
    legion = sim.world.add_channel("legionoffreedom", "Легион")
    rybar = sim.world.add_channel("rybar", "Рыбарь")

    async def body():
        s = settings(sim)
        async with sim.running(default_components, settings=s) as (app, rt):
            await until(lambda: resolved(rt.db, "rybar"), timeout=300, step=1.0)
            await sim.ask(anna, "/subscribe legionoffreedom")
            await sim.ask(anna, "/subscribe rybar")
            sim.world.post(legion, "Тёткино, утро", media=photo(5))
            await sim.until(lambda: alerts(sim, ANNA), timeout=300)
            await quiet(sim, app, timeout=300)
            # re-posted smaller and more compressed, with other words
            sim.world.post(rybar, "Кадры из Курской области", media=photo(5, 640, 480, 50))
            # another picture is another story
            sim.world.post(rybar, "Другое фото", media=photo(6))
            await sim.until(lambda: len(alerts(sim, ANNA)) == 2 and alerts(sim, ANNA)[0].edited,
                            timeout=300)
            await quiet(sim, app, timeout=300)

    sim.run(body)
    first, other = alerts(sim, ANNA)
    assert first.edited and first.file is not None
    assert "Also posted by" in first.text and "@rybar" in first.text
    assert "(same photo)" in first.text
    assert "Другое фото" in other.text and "Also posted" not in other.text
