"""Scheduled digests: when each chat's digest falls due (:mod:`.plan`), what it covers
(:mod:`.coverage`), building several at once (:mod:`.compose`), putting one in the
outbox once (:mod:`.enqueue`), and the component that keeps one APScheduler job per
chat (:mod:`.component`)."""
