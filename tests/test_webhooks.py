"""Webhooks: /webhook, and each alert of a chat POSTed as signed JSON through the
outbox's webhook deliveries, against a real HTTP server on 127.0.0.1 (allowed by
TGMON_WEBHOOK_PRIVATE, as a desk's own network would be)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alertkit import ADMIN, LEGION, alerts, dispatcher, log_fed, people, publish, quiet
from alertkit import settings as alert_settings
from hookkit import receiving, secret_in
from test_alert_e2e import watching

from bot.app import default_components
from bot.delivery.retry import Step, after_webhook
from bot.delivery.webhook_sender import Poster
from bot.delivery.webhooks import Outcome, address_allowed, host_of, sign, url_problem
from storage.db import Database
from storage.export import ExportFilter, export_record, export_sql


def settings(sim, **kw):
    return alert_settings(sim, webhook_private=True, **kw)


async def rows(db: Database, sql: str, *params):
    return [tuple(r) for r in await db.fetchall(sql, params)]


async def webhook_rows(db: Database):
    return await rows(db, "SELECT status, attempts, last_error FROM outbox "
                          "WHERE kind = 'webhook' ORDER BY id")


# ---- the pure part ----------------------------------------------------------------

@pytest.mark.parametrize(("url", "allow", "problem"), [
    ("https://hooks.example.org/tgmon", False, None),
    ("https://93.184.216.34/x", False, None),
    ("http://hooks.example.org/tgmon", False, "only https:// webhooks are allowed"),
    ("http://hooks.example.org/tgmon", True, None),
    ("ftp://hooks.example.org/", False, "give an https:// URL"),
    ("hooks.example.org", False, "give an https:// URL"),
    ("https://10.1.2.3/hook", False, "10.1.2.3 is a private, loopback or link-local"),
    ("https://127.0.0.1:8443/hook", False, "127.0.0.1 is a private"),
    ("https://[::1]/hook", False, "::1 is a private"),
    ("https://169.254.169.254/latest", False, "169.254.169.254 is a private"),
    ("https://[::ffff:192.168.0.1]/", False, "is a private"),
    ("https://10.1.2.3/hook", True, None),
    ("https://user:pw@hooks.example.org/", False, "a password in the URL"),
    ("https://hooks.example.org:99999/", False, "that is not a URL"),
    ("https://hooks.example.org/" + "x" * 2000, False, "over 2000 characters"),
])
def test_url_problem_names_what_makes_a_webhook_unusable(url, allow, problem):
    found = url_problem(url, allow)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_only_public_addresses_unless_private_ones_are_allowed():
    for private in ("127.0.0.1", "10.0.0.8", "172.16.5.4", "192.168.1.1", "100.64.0.1",
                    "169.254.1.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                    "0.0.0.0", "224.0.0.1", "not an address"):
        assert not address_allowed(private, False), private
    for public in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        assert address_allowed(public, False), public
    assert address_allowed("127.0.0.1", True)


def test_the_signature_is_hmac_sha256_of_the_body_under_the_secret():
    # RFC 4231 test case 2: key "Jefe"
    body = b"what do ya want for nothing?"
    assert sign("Jefe", body) == ("sha256=5bdcc146bf60754e6a042426089575c75a003f089d27"
                                  "39839dec58b964ec3843")
    assert host_of("https://hooks.example.org/a/secret/path") == "https://hooks.example.org/…"


def test_after_webhook_retries_server_trouble_for_a_day_and_nothing_else():
    t0 = datetime(2024, 3, 12, 5, 0, tzinfo=UTC)
    assert after_webhook(Outcome(status=204), 0, t0, t0).step is Step.DONE
    for outcome in (Outcome(status=503), Outcome(status=429), Outcome(status=408),
                    Outcome(error="no answer within 10 s"), Outcome(error="cannot connect")):
        then = after_webhook(outcome, 0, t0, t0)
        assert then.step is Step.RETRY and then.until == t0 + timedelta(seconds=30), outcome
    for outcome in (Outcome(status=404), Outcome(status=301), Outcome(status=401),
                    Outcome(error="resolves to 10.0.0.1", refused=True)):
        assert after_webhook(outcome, 0, t0, t0).step is Step.FAILED, outcome
    # the wait doubles up to an hour, never past the day
    waits, now, attempts = [], t0, 0
    while (then := after_webhook(Outcome(status=500), attempts, t0, now)).step is Step.RETRY:
        assert then.until is not None
        waits.append(then.until - now)
        now, attempts = then.until, attempts + 1
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(waits) == timedelta(hours=1)
    assert now == t0 + timedelta(days=1) and then.reason == "HTTP 500, still after a day of retries"


# ---- one POST, on a real clock ----------------------------------------------------

def test_a_post_that_gets_no_answer_in_time_is_a_timeout_worth_retrying():
    async def post():
        with receiving(delay=2.0) as hook:
            poster = Poster(allow_private=True, timeout=0.3)
            try:
                return await poster.post(hook.url, "s", b"{}", 1)
            finally:
                await poster.close()

    outcome = asyncio.run(post())
    assert outcome == Outcome(error="no answer within 0.3 s")
    assert outcome.retryable


def test_a_redirect_is_not_followed_and_a_private_literal_is_not_tried():
    async def posts():
        with receiving(failures=(302,)) as hook:
            poster = Poster(allow_private=True)
            strict = Poster(allow_private=False)
            try:
                redirected = await poster.post(hook.url, "s", b"{}", 1)
                refused = await strict.post(hook.url, "s", b"{}", 2)
            finally:
                await poster.close()
                await strict.close()
            return redirected, refused, [r.path for r in hook.requests]

    redirected, refused, paths = asyncio.run(posts())
    assert redirected == Outcome(status=302) and not redirected.retryable
    assert refused.refused and "127.0.0.1 is a private" in (refused.error or "")
    assert paths == ["/hook"]                   # never /elsewhere, nothing from `strict`


# ---- through the simulated Telegram ------------------------------------------------

def test_each_alert_reaches_the_webhook_once_signed_across_a_restart_and_two_failures(sim):
    w = sim.world
    legion = w.add_channel("legionoffreedom", "Легион «Свобода России»")
    admin, anna, _ivan, _olga = people(sim)
    desk = w.add_group("OSINT desk", members=[admin, anna])
    chat = -desk.id

    async def body():
        with receiving(failures=(503, 503)) as hook:
            s = settings(sim)
            async with sim.running(components=default_components, settings=s) as (_app, rt):
                await watching(rt, "legionoffreedom")
                await sim.ask(anna, "/alert Тёткино", group=desk, chat_id=chat)
                await sim.ask(anna, "/edits on", group=desk, chat_id=chat)
                refused = await sim.ask(anna, f"/webhook {hook.url}", group=desk, chat_id=chat)
                assert "admin" in refused.text.lower()
                # the secret is for the admin's eyes: in their private chat, never the group
                first = await sim.ask(admin, f"/webhook {hook.url}", group=desk, chat_id=chat)
                assert first.text.startswith("The webhook's secret is shown to you only")
                await sim.ask(admin, "/start")
                answer = await sim.ask(admin, f"/webhook {hook.url}", group=desk, chat_id=chat)
                assert answer.text.startswith("Webhook set") and \
                    answer.text.endswith("Its secret was sent to you in our private chat.")
                await sim.until(lambda: "shown only now" in sim.texts(ADMIN)[-1])
                secret = secret_in(sim.texts(ADMIN)[-1])
                assert sim.texts(ADMIN)[-1].startswith("The secret of the webhook of OSINT desk")
                assert not any(secret in t for t in sim.texts(chat))
                shown = await sim.ask(anna, "/alerts", group=desk, chat_id=chat)
                assert f"Webhook: {hook.url}" in shown.text and secret not in shown.text
                post = w.post(legion, "Бои в районе Тёткино, есть раненые")
                await sim.until(lambda: alerts(sim, chat))       # Telegram does not wait
                await sim.until(lambda: len(hook.requests) >= 1, timeout=120)
                assert hook.delivered() == []
            # a new process on the same database: the delivery is still due
            async with sim.running(components=default_components, settings=s) as (app2, rt2):
                await sim.until(lambda: hook.delivered(), timeout=600)
                w.edit(legion, post.id, "Бои в районе Тёткино, есть погибшие")
                await sim.until(lambda: len(hook.delivered()) == 2, timeout=300)
                w.delete(legion, [post.id])
                await sim.until(lambda: len(hook.delivered()) == 3, timeout=300)
                await quiet(sim, app2)
                assert [r.status for r in hook.requests] == [503, 503, 200, 200, 200]
                # replaying the whole log from the start delivers nothing again
                await rt2.db.execute("UPDATE alert_cursor SET seq = 0")
                dispatcher(app2).cursor = 0
                rt2.log_changed.notify()
                await quiet(sim, app2)
                await asyncio.sleep(120)
                assert len(hook.requests) == 5
                assert [r[0] for r in await webhook_rows(rt2.db)] == ["sent"] * 3
                sql, params = export_sql(ExportFilter(deleted="include", versions=True))
                exported = [export_record(r) for r in await rt2.db.fetchall(sql, params)]
            got = hook.delivered()
            assert all(r.signed_by(secret) for r in hook.requests)
            assert not got[0].signed_by("another secret")
            assert all(r.path == "/hook" and r.headers["content-type"].startswith(
                "application/json") for r in got)
            new, edit, deletion = (r.json for r in got)
            assert [b["kind"] for b in (new, edit, deletion)] == ["new", "edit", "delete"]
            link = f"https://t.me/legionoffreedom/{post.id}"
            assert {b["link"] for b in (new, edit, deletion)} == {link}
            assert all(b["chat_id"] == chat for b in (new, edit, deletion))
            assert new["reasons"] == [{"rule_id": 1, "rule": "Тёткино"}]
            assert new["post"]["text"] == "Бои в районе Тёткино, есть раненые"
            assert new["post"]["version"] == 1 and new["post"]["deleted_at"] is None
            assert edit["post"]["text"] == "Бои в районе Тёткино, есть погибшие"
            assert edit["post"]["version"] == 2
            assert deletion["post"]["text"] == "Бои в районе Тёткино, есть погибшие"
            assert deletion["post"]["deleted_at"] is not None
            assert new["post"]["channel"] == "legionoffreedom"
            assert new["post"]["url"] == link and new["post"]["message_id"] == post.id
            assert len({r.headers["x-tgmon-delivery"] for r in got}) == 3
            # the post as tgmon export --versions writes it (the deletion: as it is now)
            assert [r["version"] for r in exported] == [1, 2]
            assert deletion["post"] == exported[1]
            assert {k: v for k, v in new["post"].items() if k != "last_seen"} == \
                {k: v for k, v in exported[0].items() if k not in ("last_seen", "deleted_at")} \
                | {"deleted_at": None}

    sim.run(body)


def test_a_failing_webhook_gives_up_after_a_day_tells_the_chat_and_never_delays_telegram(sim):
    admin, _anna, _ivan, _olga = people(sim)

    async def body():
        with receiving(failures=(500,) * 100) as hook:
            async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
                await sim.ask(admin, "/alert Курск")
                await sim.ask(admin, f"/webhook {hook.url}")
                for i in range(3):
                    await publish(rt, LEGION, 10 + i, f"Курск {i}")
                await quiet(sim, app)                        # every Telegram alert is sent
                assert len(alerts(sim, ADMIN)) == 3
                assert len(hook.requests) <= 1               # one chat: one at a time, in order
                await sim.until(lambda: _all_failed(rt.db), timeout=2 * 86400, step=60)
                failed = await webhook_rows(rt.db)
                assert failed[0][2] == "HTTP 500, still after a day of retries"
                assert 20 <= failed[0][1] <= 40               # doubling waits up to an hour
                await quiet(sim, app)
                notices = [t for t in sim.texts(ADMIN) if t.startswith("⚠️ Webhook")]
                assert len(notices) == 1                      # one a day, not one per alert
                assert "HTTP 500, still after a day of retries" in notices[0]
                assert "/webhook off" in notices[0]
                assert {r.json["post"]["message_id"] for r in hook.requests} == {10, 11, 12}

    sim.run(body)


async def _all_failed(db: Database) -> bool:
    found = await webhook_rows(db)
    return len(found) == 3 and all(r[0] == "failed" for r in found)


def test_a_name_resolving_to_a_private_address_is_refused_when_sent(sim):
    admin, _anna, _ivan, _olga = people(sim)

    async def body():
        async with sim.running(components=log_fed,
                               settings=alert_settings(sim)) as (_app, rt):
            refused = await sim.ask(admin, "/webhook https://127.0.0.1/hook")
            assert refused.text.startswith("That webhook cannot be used: 127.0.0.1 is a "
                                           "private, loopback or link-local address")
            refused = await sim.ask(admin, "/webhook http://hooks.example.org/")
            assert "only https:// webhooks are allowed" in refused.text
            # a name passes when set: where it points is checked when each POST is made
            await sim.ask(admin, "/alert Курск")
            answer = await sim.ask(admin, "/webhook https://localhost:9/hook")
            assert answer.text.startswith("Webhook set")
            await publish(rt, LEGION, 10, "Курск")
            await sim.until(lambda: _notice(sim), timeout=120)
            [(status, attempts, error)] = await webhook_rows(rt.db)
            assert (status, attempts) == ("failed", 1)
            assert "localhost resolves to" in error and "private, loopback" in error
            await sim.until(lambda: alerts(sim, ADMIN))

    sim.run(body)


def _notice(sim) -> bool:
    return any(t.startswith("⚠️ Webhook") for t in sim.texts(ADMIN))


def test_webhook_off_drops_what_is_undelivered_and_stops_deliveries(sim):
    admin, _anna, _ivan, _olga = people(sim)

    async def body():
        with receiving(failures=(503,) * 5) as hook:
            async with sim.running(components=log_fed, settings=settings(sim)) as (app, rt):
                await sim.ask(admin, "/alert Курск")
                none = await sim.ask(admin, "/webhook")
                assert none.text.startswith("No webhook")
                first = secret_in((await sim.ask(admin, f"/webhook {hook.url}")).text)
                second = secret_in((await sim.ask(admin, f"/webhook {hook.url}")).text)
                assert first != second and len(second) == 64      # setting again: new secret
                await publish(rt, LEGION, 10, "Курск")
                await sim.until(lambda: hook.requests)
                assert hook.requests[0].signed_by(second)
                off = await sim.ask(admin, "/webhook off")
                assert off.text == ("Webhook removed (1 undelivered alerts dropped): alerts "
                                    "go to this chat only.")
                await publish(rt, LEGION, 11, "Курск снова")
                await quiet(sim, app)
                await asyncio.sleep(3600)
                assert len(hook.requests) == 1
                assert [r[0] for r in await webhook_rows(rt.db)] == ["dropped"]
                assert len(alerts(sim, ADMIN)) == 2

    sim.run(body)
