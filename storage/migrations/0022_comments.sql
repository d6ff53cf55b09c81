-- Comments: messages of a watched channel's discussion group in its posts' threads
-- (storage/comments.py), kept like posts: every version, deletions as tombstones.

CREATE TABLE comments (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL,         -- the discussion group (bare id)
    comment_id      INTEGER NOT NULL,         -- message id in the group
    channel_id      INTEGER NOT NULL REFERENCES channels (channel_id),
    post_id         INTEGER NOT NULL,         -- the channel post's message id
    date            TEXT NOT NULL,
    text            TEXT NOT NULL DEFAULT '',
    entities        TEXT,                     -- JSON, as posts.entities
    from_id         INTEGER,
    from_name       TEXT,
    from_username   TEXT,
    reply_to        INTEGER,                  -- the comment it answers; NULL: the post
    media_kind      TEXT,
    media_file_name TEXT,
    media_size      INTEGER,
    media_mime_type TEXT,
    edit_date       TEXT,
    deleted_at      TEXT,                     -- tombstone
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    captured_via    TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    UNIQUE (group_id, comment_id)
);
CREATE INDEX comments_by_post ON comments (channel_id, post_id, comment_id);
CREATE INDEX comments_by_date ON comments (date);

CREATE TABLE comment_versions (
    comment_row     INTEGER NOT NULL REFERENCES comments (id),
    version         INTEGER NOT NULL,
    text            TEXT NOT NULL,
    entities        TEXT,
    media_kind      TEXT,
    edit_date       TEXT,
    seen_at         TEXT NOT NULL,
    PRIMARY KEY (comment_row, version)
) WITHOUT ROWID;

CREATE TRIGGER comments_after_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comment_versions (comment_row, version, text, entities, media_kind, edit_date,
                                  seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.edit_date,
            new.last_seen);
END;
CREATE TRIGGER comments_after_new_version AFTER UPDATE OF version ON comments
WHEN new.version > old.version BEGIN
    INSERT INTO comment_versions (comment_row, version, text, entities, media_kind, edit_date,
                                  seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.edit_date,
            new.last_seen);
END;
CREATE TRIGGER comments_never_deleted BEFORE DELETE ON comments BEGIN
    SELECT RAISE (ABORT, 'comments are never deleted: set deleted_at (a tombstone) instead');
END;
CREATE TRIGGER comment_versions_never_changed BEFORE UPDATE ON comment_versions BEGIN
    SELECT RAISE (ABORT, 'comment versions are never changed');
END;

-- How far each post's thread was read: comments up to read_id were read (a resume
-- cursor for bounded passes), and the post's comment count when it was.
CREATE TABLE comment_threads (
    channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
    post_id     INTEGER NOT NULL,
    group_id    INTEGER NOT NULL,
    read_id     INTEGER NOT NULL DEFAULT 0,
    replies     INTEGER,                  -- the post's comment count at the last full read
    read_at     TEXT,
    PRIMARY KEY (channel_id, post_id)
) WITHOUT ROWID;

-- Channels whose comments are captured (/watch CHANNEL comments, TGMON_COMMENTS).
CREATE TABLE comment_channels (
    username    TEXT PRIMARY KEY COLLATE NOCASE,
    enabled     INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    changed_by  INTEGER
) WITHOUT ROWID;

-- Comments that alerted a chat (an in:comments rule matched); recorded with the outbox
-- message and the moved cursor (alert_cursor 'comments', over comments.id) in one
-- transaction, so a replay never alerts twice.
CREATE TABLE comment_alerts (
    chat_id     INTEGER NOT NULL REFERENCES chats (chat_id),
    comment_row INTEGER NOT NULL REFERENCES comments (id),
    reason      TEXT NOT NULL,
    rule_ids    TEXT NOT NULL,
    outbox_id   INTEGER REFERENCES outbox (id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, comment_row)
) WITHOUT ROWID;
