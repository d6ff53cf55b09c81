"""Gap-free capture of the watched channels: live events, catch-up, reconcile and
re-check (:mod:`.component` ties them together), resolution and joins, backfill's
history reading (:mod:`.backfill`), and the watching client and its session."""
