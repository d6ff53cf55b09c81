"""Which changes alert: capture paths, age, history of newly watched channels, lateness,
edits worth an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.plan import alerts_new_post, edit_alerts, lateness
from storage.models import CapturePath, Media

NOW = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
LIVE, CATCH_UP = CapturePath.LIVE, CapturePath.CATCH_UP


def test_live_and_caught_up_posts_alert_history_does_not():
    hour = NOW - timedelta(hours=1)
    assert alerts_new_post(LIVE, hour, NOW) and alerts_new_post(CATCH_UP, hour, NOW)
    assert not alerts_new_post(CapturePath.BACKFILL, hour, NOW)
    assert not alerts_new_post(CapturePath.IMPORT, hour, NOW)
    assert not alerts_new_post(CATCH_UP, NOW - timedelta(hours=25), NOW)     # too old
    # the first read of a newly watched channel: posts from before it was watched
    watched = NOW - timedelta(minutes=30)
    assert not alerts_new_post(CATCH_UP, hour, NOW, watched_since=watched)
    assert alerts_new_post(CATCH_UP, NOW - timedelta(minutes=10), NOW, watched_since=watched)
    assert alerts_new_post(LIVE, hour, NOW, watched_since=watched)


def test_lateness_and_edits_worth_an_alert():
    assert lateness(LIVE, NOW - timedelta(minutes=2), NOW) is None
    assert lateness(LIVE, NOW - timedelta(minutes=15), NOW) == timedelta(minutes=15)
    assert lateness(CATCH_UP, NOW - timedelta(minutes=2), NOW) == timedelta(minutes=2)
    assert lateness(CATCH_UP, NOW + timedelta(seconds=5), NOW) == timedelta(0)
    assert edit_alerts("a", None, "b", None)
    assert edit_alerts("a", Media("photo"), "a", Media("video"))
    assert not edit_alerts("a", Media("photo", size=1), "a", Media("photo", size=2))
