-- The durable outbox: everything the bot sends is recorded here before it is sent,
-- sent once, and survives a restart.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,               -- reply, notice, alert, digest, export
    priority    INTEGER NOT NULL,            -- lower goes first (replies before alerts)
    dedup_key   TEXT UNIQUE,                 -- a replay never enqueues the same thing twice
    html        TEXT NOT NULL,               -- the text, or the caption of a file
    buttons     TEXT,                        -- JSON: [[{"label", "data"}]]
    file_name   TEXT,                        -- a file sent with html as its caption
    file_data   BLOB,
    as_photo    INTEGER NOT NULL DEFAULT 0,  -- send the file as a photo
    created_at  TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'failed', 'dropped')),
    sent_at     TEXT,
    message_id  INTEGER,                     -- Telegram's id of the sent message
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (priority, id) WHERE status = 'pending';
CREATE INDEX outbox_by_chat ON outbox (chat_id, status);
