"""Scheduled digests: when each chat's digest falls due (:mod:`.plan`), what it covers
and how it is put in the outbox (:mod:`.compose`), and the component that keeps one
APScheduler job per chat (:mod:`.component`)."""
