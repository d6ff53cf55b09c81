-- Several watching accounts (issue 14). An existing install's account becomes `main`:
-- its access hashes, its channels and its ends are main's, and nothing else changes.

-- The watching accounts tgmon has run with (`tgmon stats` lists them with their state).
CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    first_seen    TEXT NOT NULL,
    last_started  TEXT                  -- the latest start of `tgmon run` with it
);
INSERT INTO accounts (name, first_seen)
    SELECT 'main', first FROM (SELECT min(status_at) AS first FROM watched
                               WHERE channel_id IS NOT NULL)
    WHERE first IS NOT NULL;

-- A channel's access hash is valid for the account that resolved it only.
CREATE TABLE channel_access (
    account     TEXT NOT NULL,
    channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
    access_hash INTEGER NOT NULL,
    resolved_at TEXT NOT NULL,
    PRIMARY KEY (account, channel_id)
) WITHOUT ROWID;
-- The live entry's hash first (the latest one an account got), then removed ones'.
INSERT OR IGNORE INTO channel_access (account, channel_id, access_hash, resolved_at)
    SELECT 'main', channel_id, access_hash, coalesce(status_at, added_at) FROM watched
    WHERE channel_id IS NOT NULL AND access_hash IS NOT NULL
    ORDER BY removed_at IS NOT NULL, removed_at DESC;

-- Each watched channel is held by one account: it joins it (Telegram pushes its posts)
-- or, beyond every account's join limit, polls it. NULL until placed.
ALTER TABLE watched ADD COLUMN account TEXT;
ALTER TABLE watched ADD COLUMN mode TEXT CHECK (mode IN ('joined', 'polled'));
UPDATE watched SET account = 'main', mode = 'joined'
    WHERE removed_at IS NULL AND channel_id IS NOT NULL;
-- watched.access_hash stays, as main's hash of the channel (what it always was): code
-- written for one account reads it with main's client.

-- Channels moved from one account to another (the account was lost, or the channel was
-- polled and another account has room to join it), oldest first.
CREATE TABLE channel_moves (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    channel_id   INTEGER NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('joined', 'polled')),
    why          TEXT NOT NULL          -- e.g. the end's code, USER_DEACTIVATED_BAN
);
CREATE INDEX channel_moves_by_at ON channel_moves (at);

-- Which account an end, a flood wait or a failure was of (NULL: the bot; old rows of
-- capture_events: the one account there was).
ALTER TABLE account_ends ADD COLUMN account TEXT;
UPDATE account_ends SET account = 'main' WHERE role = 'user';
ALTER TABLE capture_events ADD COLUMN account TEXT;
