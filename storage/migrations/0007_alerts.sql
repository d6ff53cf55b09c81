-- Alerts: what each chat was alerted of, and how far the dispatcher has read the log.

-- One row per alert decided: a post that alerted a chat ('new'), and the follow-ups of
-- /edits on ('edit' of a version, 'delete'). Recorded in the same transaction as the
-- outbox message and the cursor, so a replay of the log never alerts twice.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id),
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('new', 'edit', 'delete')),
    version     INTEGER NOT NULL,             -- the post version it showed
    seq         INTEGER NOT NULL,             -- the post_changes entry that caused it
    status      TEXT NOT NULL
        CHECK (status IN ('queued', 'held', 'released', 'folded')),
        -- queued: in the outbox; held: the chat was muted (released: told at /unmute);
        -- folded: the same story already alerted the chat (story_of)
    story_of    INTEGER REFERENCES alerts (id),   -- folded: the alert of the story's first post
    reason      TEXT NOT NULL,                -- what matched, as the alert shows it
    rule_ids    TEXT,                         -- the chat's rules that matched: "12,40"
    subscribed  INTEGER NOT NULL DEFAULT 0,   -- the chat is subscribed to the channel
    outbox_id   INTEGER REFERENCES outbox (id),   -- the message (folded: the story edit)
    created_at  TEXT NOT NULL,
    UNIQUE (chat_id, post_id, kind, version)
);
-- One alert per post and chat, however many rules and subscriptions match it.
CREATE UNIQUE INDEX alerts_one_per_post ON alerts (chat_id, post_id) WHERE kind = 'new';
CREATE INDEX alerts_by_post ON alerts (post_id);
CREATE INDEX alerts_by_story ON alerts (story_of) WHERE story_of IS NOT NULL;
CREATE INDEX alerts_held ON alerts (chat_id, status) WHERE status IN ('held', 'released');

-- How far the alert dispatcher has read post_changes (one row).
CREATE TABLE alert_cursor (
    name        TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Every post of a channel goes to its subscribers: found by channel.
CREATE INDEX subscriptions_by_channel ON subscriptions (channel_id);

-- Outbox messages that edit an earlier message (a story's "also posted by"), or answer
-- it (an edit or deletion alert replies to the alert of the post).
ALTER TABLE outbox ADD COLUMN edit_of INTEGER REFERENCES outbox (id);
ALTER TABLE outbox ADD COLUMN reply_to_of INTEGER REFERENCES outbox (id);
