-- The watch list, and the people and groups who talk to the bot.

-- Channels tgmon watches: from config/channels.toml or added by an admin with /watch.
-- Resolved once (username -> id and access hash) and never resolved again on start.
CREATE TABLE watched (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL COLLATE NOCASE,  -- as configured or requested, without '@'
    label        TEXT,
    source       TEXT NOT NULL CHECK (source IN ('config', 'admin')),
    added_by     INTEGER,                       -- admin's user id for /watch
    added_at     TEXT NOT NULL,
    removed_at   TEXT,                          -- /unwatch (the row stays, for history)
    channel_id   INTEGER REFERENCES channels (channel_id),  -- NULL until resolved
    access_hash  INTEGER,
    status       TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'unresolved', 'private', 'gone')),
    status_detail TEXT,                         -- why it is not ok, for people
    status_at    TEXT
);
-- One live entry per username and per channel.
CREATE UNIQUE INDEX watched_live_username ON watched (username) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX watched_live_channel ON watched (channel_id)
    WHERE removed_at IS NULL AND channel_id IS NOT NULL;

-- Private chats (chat_id = the user's id) and groups (chat_id = Telethon's marked id).
CREATE TABLE chats (
    chat_id      INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('private', 'group')),
    title        TEXT,                          -- group title, or the person's name
    timezone     TEXT,                          -- IANA name; NULL = the default setting
    muted_until  TEXT,                          -- alerts are held back until then
    edit_alerts  INTEGER NOT NULL DEFAULT 0,    -- /edits on
    blocked_at   TEXT,                          -- the bot cannot write here (blocked, kicked)
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);

-- People who wrote to the bot (for /users and /allow @username).
CREATE TABLE bot_users (
    user_id      INTEGER PRIMARY KEY,
    first_name   TEXT,
    username     TEXT COLLATE NOCASE,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL
);

-- /allow and /deny by admins, on top of TGMON_ALLOWLIST. The latest word wins.
CREATE TABLE access_grants (
    user_id      INTEGER PRIMARY KEY,
    allowed      INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    changed_by   INTEGER NOT NULL,
    changed_at   TEXT NOT NULL
);

-- /subscribe: every post of a channel goes to the chat.
CREATE TABLE subscriptions (
    chat_id      INTEGER NOT NULL REFERENCES chats (chat_id),
    channel_id   INTEGER NOT NULL REFERENCES channels (channel_id),
    created_by   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (chat_id, channel_id)
) WITHOUT ROWID;

-- /alert RULE. /unalert sets deleted_at: the rule stays, so past alerts can name it.
CREATE TABLE rules (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL REFERENCES chats (chat_id),
    text         TEXT NOT NULL,
    created_by   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    deleted_at   TEXT
);
CREATE INDEX rules_live ON rules (chat_id) WHERE deleted_at IS NULL;
