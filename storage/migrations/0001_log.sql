-- The captured-post log: channels, posts, every version, tombstones, full-text search.
-- Times are ISO 8601 UTC text ('2024-03-12T05:17:00Z'); JSON columns hold JSON text.

CREATE TABLE channels (
    channel_id  INTEGER PRIMARY KEY,          -- bare Telegram id (t.me/c/<channel_id>/...)
    username    TEXT,                         -- current public username, without '@'
    title       TEXT,
    first_seen  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX channels_by_username ON channels (lower(username));

-- Every username and title a channel has had, from the first time tgmon saw it.
CREATE TABLE channel_names (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
    username    TEXT,
    title       TEXT,
    seen_at     TEXT NOT NULL
);
CREATE INDEX channel_names_by_channel ON channel_names (channel_id, seen_at);

-- The latest state of each post. Never deleted: a deletion sets deleted_at (a tombstone).
CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,      -- internal row id (full-text index key)
    channel_id      INTEGER NOT NULL REFERENCES channels (channel_id),
    message_id      INTEGER NOT NULL,
    date            TEXT NOT NULL,            -- when it was posted (UTC)
    text            TEXT NOT NULL DEFAULT '', -- plain text, exactly as posted
    entities        TEXT,                     -- JSON: [{"type", "offset", "length", ...}]
    views           INTEGER,
    forwards        INTEGER,
    replies         INTEGER,
    reactions       TEXT,                     -- JSON: [{"emoji", "count"}]
    media_kind      TEXT,                     -- photo, video, document, voice, ...
    media_file_name TEXT,
    media_size      INTEGER,
    media_mime_type TEXT,
    media_width     INTEGER,
    media_height    INTEGER,
    media_duration  REAL,
    fwd_channel_id  INTEGER,                  -- forward origin
    fwd_message_id  INTEGER,
    fwd_date        TEXT,
    fwd_name        TEXT,
    reply_to_id     INTEGER,
    grouped_id      INTEGER,                  -- album
    author          TEXT,                     -- post signature
    edit_date       TEXT,
    deleted_at      TEXT,                     -- tombstone: when tgmon learnt it was deleted
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    captured_via    TEXT NOT NULL
        CHECK (captured_via IN ('live', 'catch-up', 'backfill', 'import')),
    version         INTEGER NOT NULL DEFAULT 1,   -- number of the current version
    UNIQUE (channel_id, message_id)
);
CREATE INDEX posts_by_date ON posts (date);
CREATE INDEX posts_by_channel_date ON posts (channel_id, date);
CREATE INDEX posts_deleted ON posts (deleted_at) WHERE deleted_at IS NOT NULL;

-- Every distinct version of a post's text and media; version 1 is the first seen.
CREATE TABLE post_versions (
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    version         INTEGER NOT NULL,
    text            TEXT NOT NULL,
    entities        TEXT,
    media_kind      TEXT,
    media_file_name TEXT,
    media_size      INTEGER,
    media_mime_type TEXT,
    edit_date       TEXT,                     -- Telegram's edit time of this version
    seen_at         TEXT NOT NULL,            -- when tgmon first saw this version
    PRIMARY KEY (post_id, version)
) WITHOUT ROWID;

-- Everything that happened to the log, in order: alerts and digests read it.
CREATE TABLE post_changes (
    seq          INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts (id),
    kind         TEXT NOT NULL CHECK (kind IN ('new', 'edit', 'delete')),
    version      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    captured_via TEXT NOT NULL
);
CREATE INDEX post_changes_by_post ON post_changes (post_id);

-- Message ids known not to be posts (service messages, deleted before tgmon saw them):
-- they explain holes in the id sequence.
CREATE TABLE absent_messages (
    channel_id  INTEGER NOT NULL REFERENCES channels (channel_id),
    message_id  INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('service', 'deleted', 'empty')),
    noted_at    TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;

-- Full-text search. unicode61 folds case (Cyrillic too) but not ё: index with ё -> е,
-- and fold queries the same way.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text, content = 'posts', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER posts_after_insert AFTER INSERT ON posts BEGIN
    INSERT INTO post_versions (post_id, version, text, entities, media_kind, media_file_name,
                               media_size, media_mime_type, edit_date, seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.media_file_name,
            new.media_size, new.media_mime_type, new.edit_date, new.last_seen);
    INSERT INTO posts_fts (rowid, text)
    VALUES (new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'new', new.version, new.first_seen, new.captured_via);
END;

-- A new version: the upsert raises posts.version when text or media changed.
CREATE TRIGGER posts_after_new_version AFTER UPDATE OF version ON posts
WHEN new.version > old.version BEGIN
    INSERT INTO post_versions (post_id, version, text, entities, media_kind, media_file_name,
                               media_size, media_mime_type, edit_date, seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.media_file_name,
            new.media_size, new.media_mime_type, new.edit_date, new.last_seen);
    INSERT INTO posts_fts (posts_fts, rowid, text)
    VALUES ('delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO posts_fts (rowid, text)
    VALUES (new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'edit', new.version, new.last_seen, new.captured_via);
END;

CREATE TRIGGER posts_after_tombstone AFTER UPDATE OF deleted_at ON posts
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL BEGIN
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'delete', new.version, new.deleted_at, new.captured_via);
END;

-- History is never erased.
CREATE TRIGGER posts_never_deleted BEFORE DELETE ON posts BEGIN
    SELECT RAISE (ABORT, 'posts are never deleted: set deleted_at (a tombstone) instead');
END;
CREATE TRIGGER post_versions_never_deleted BEFORE DELETE ON post_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never deleted');
END;
CREATE TRIGGER post_versions_never_changed BEFORE UPDATE ON post_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never changed');
END;

-- Views for people reading the database in the sqlite3 shell or Datasette.
CREATE VIEW post_log AS
SELECT p.id, coalesce(c.username, CAST(p.channel_id AS TEXT)) AS channel,
       p.channel_id, p.message_id, p.date, p.text, p.views, p.forwards, p.replies,
       p.media_kind, p.fwd_name AS forwarded_from, p.reply_to_id, p.grouped_id, p.author,
       p.edit_date, p.deleted_at, p.version, p.captured_via, p.first_seen, p.last_seen,
       CASE WHEN c.username IS NOT NULL
            THEN 'https://t.me/' || c.username || '/' || p.message_id
            ELSE 'https://t.me/c/' || p.channel_id || '/' || p.message_id END AS url
FROM posts p JOIN channels c USING (channel_id);

CREATE VIEW post_history AS
SELECT coalesce(c.username, CAST(p.channel_id AS TEXT)) AS channel,
       p.channel_id, p.message_id, v.version, v.text, v.media_kind, v.edit_date, v.seen_at,
       p.deleted_at
FROM post_versions v JOIN posts p ON p.id = v.post_id JOIN channels c USING (channel_id);
