-- Capture: how far the watcher has read each channel, and what happened to it.

-- One row per channel the watcher has resolved.
CREATE TABLE capture_state (
    channel_id        INTEGER PRIMARY KEY REFERENCES channels (channel_id),
    synced_id         INTEGER,   -- every message id up to this one was read from Telegram
                                 -- (the catch-up / reconcile cursor; pushes do not move it)
    synced_at         TEXT,      -- when a read last reached the channel's newest message
    rechecked_at      TEXT,      -- when the recent posts were last re-checked
    last_capture      TEXT,      -- when a post of the channel was last stored new
    joined_at         TEXT,      -- when the watching account was seen to be a member
    backfill_floor    INTEGER,   -- lowest message id `tgmon backfill` has read down to
    backfill_complete INTEGER NOT NULL DEFAULT 0   -- 1: backfill reached the first message
);

-- Things that happened to the capture, oldest first: reconnects of the watching
-- client, flood waits, failures and recoveries. `detail` names the request or the error
-- class; it never holds post text.
CREATE TABLE capture_events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL
        CHECK (kind IN ('reconnect', 'flood_wait', 'error', 'recovered', 'joined')),
    channel_id  INTEGER,                     -- NULL: the whole client
    detail      TEXT
);
CREATE INDEX capture_events_by_kind ON capture_events (kind, at);
CREATE INDEX capture_events_by_channel ON capture_events (channel_id, kind);
