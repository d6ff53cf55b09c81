-- The fields researchers cite (storage/details.py): one row per post that has any of
-- them, the latest state read from Telegram (a poll's votes, whether it is pinned).
-- Kept beside `posts` so the log's own table stays as it is.

CREATE TABLE post_details (
    post_id             INTEGER PRIMARY KEY REFERENCES posts (id),
    restriction_reason  TEXT,       -- JSON [{"platform", "reason", "text"}]
    noforwards          INTEGER NOT NULL DEFAULT 0,
    pinned              INTEGER NOT NULL DEFAULT 0,
    webpage_url         TEXT,       -- link preview
    webpage_site        TEXT,
    webpage_title       TEXT,
    webpage_description TEXT,
    poll                TEXT,       -- JSON {"question", "answers": [{"text", "voters"}], ...}
    geo                 TEXT,       -- JSON {"lat", "long"} (+ "title", "address": a venue)
    contact             TEXT,       -- JSON {"phone", "first_name", "last_name", "user_id"}
    dice                TEXT,       -- JSON {"emoticon", "value"}
    topic_id            INTEGER,    -- forum topic
    via_bot_id          INTEGER,
    sender_id           INTEGER,    -- the person (or chat) who sent it, in a group
    sender_name         TEXT,
    comments_max_id     INTEGER,    -- the newest comment's id in the discussion group
    updated_at          TEXT NOT NULL
);

-- Service messages of watched channels: not posts, kept with what they did.
CREATE TABLE service_messages (
    channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
    message_id  INTEGER NOT NULL,
    date        TEXT NOT NULL,
    action      TEXT NOT NULL,      -- edit_title, edit_photo, pin_message, channel_create, ...
    detail      TEXT,               -- JSON: the action's fields
    noted_at    TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;

-- The forward network (storage/network.py): the channels each post links (t.me) or
-- @mentions, found when the post is stored (kind 'link' or 'mention'; target 'id:ID' for
-- t.me/c/ID, else the username in lower case), so `tgmon network` reads this table
-- instead of every text. Posts stored before this migration (rowid up to `below`) are
-- read from their text by `tgmon network` itself.
CREATE TABLE post_links (
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('link', 'mention')),
    target      TEXT NOT NULL,
    PRIMARY KEY (post_id, kind, target)
) WITHOUT ROWID;

CREATE TABLE post_links_scan (
    below       INTEGER NOT NULL          -- posts with id <= below predate post_links
);
INSERT INTO post_links_scan (below) SELECT coalesce(max(id), 0) FROM posts;

-- Forwards, for the network: a small covering index of the posts that are forwards.
CREATE INDEX posts_forwards ON posts (channel_id, fwd_channel_id, fwd_name, date)
WHERE fwd_channel_id IS NOT NULL OR fwd_name IS NOT NULL;
