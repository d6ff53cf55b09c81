-- The media archive (docs/media.md): each post's files, queued for download apart from
-- capture, stored once under their SHA-256, and never erased.

-- One stored file, by its content. Several media items (the same picture re-posted,
-- re-imported) share one.
CREATE TABLE media_files (
    sha256      TEXT PRIMARY KEY,             -- hex SHA-256 of the content
    size        INTEGER NOT NULL,             -- bytes
    path        TEXT NOT NULL,                -- relative to the media directory: ab/cd/abcd….jpg
    mime_type   TEXT,
    phash       TEXT,                         -- photos: perceptual hash (16 hex digits)
    stored_at   TEXT NOT NULL
) WITHOUT ROWID;

-- One file of one post version: what Telegram said about it, where to fetch it, and how
-- fetching went. Keyed by the post and Telegram's own file id, so storing a post again
-- never queues its file twice (it only refreshes the file reference), and an edit that
-- replaces the media adds an item beside the old one.
CREATE TABLE media_items (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    version         INTEGER NOT NULL,         -- the post version that first showed it
    file_key        TEXT NOT NULL,            -- 'photo:ID', 'document:ID'; 'import:PATH'
    kind            TEXT NOT NULL,            -- photo, video, document, ...
    size            INTEGER,                  -- bytes, as Telegram announced them
    mime_type       TEXT,
    file_name       TEXT,
    dc_id           INTEGER,                  -- where it lives and how to ask for it
    access_hash     INTEGER,
    file_reference  BLOB,
    thumb_size      TEXT,                     -- photos: the size fetched ('y', 'w', ...)
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'too_large', 'skipped', 'missed', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,                     -- why it is missed, failed or waiting
    not_before      TEXT,                     -- pending: not tried again before this
    sha256          TEXT REFERENCES media_files (sha256),
    queued_at       TEXT NOT NULL,
    fetched_at      TEXT,
    UNIQUE (channel_id, message_id, file_key)
);
CREATE INDEX media_items_of_post ON media_items (channel_id, message_id, version);
CREATE INDEX media_items_queue ON media_items (status, kind) WHERE status = 'pending';
CREATE INDEX media_items_by_sha256 ON media_items (sha256) WHERE sha256 IS NOT NULL;

-- Downloads paused for want of space (a full disk, the budget reached): one row while
-- paused; the admins are told once per pause.
CREATE TABLE media_pause (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    reason      TEXT NOT NULL CHECK (reason IN ('disk_full', 'budget')),
    detail      TEXT NOT NULL,
    since       TEXT NOT NULL,
    told_at     TEXT                          -- when the admins' notice was queued
);

-- Evidence is never erased: files and items stay, whatever happens to their posts.
CREATE TRIGGER media_files_never_deleted BEFORE DELETE ON media_files BEGIN
    SELECT RAISE (ABORT, 'media files are never deleted');
END;
CREATE TRIGGER media_items_never_deleted BEFORE DELETE ON media_items BEGIN
    SELECT RAISE (ABORT, 'media items are never deleted');
END;
CREATE TRIGGER media_files_never_changed BEFORE UPDATE OF sha256, size, path ON media_files
BEGIN
    SELECT RAISE (ABORT, 'a stored file''s hash, size and path never change');
END;

-- An alert of a photo post goes with the photo: the outbox message names the media item
-- and carries the alert as a caption (Telegram's 1024-unit limit); sent_photo records
-- which of the two went, so an edit of it (a story's line) edits the right text.
ALTER TABLE outbox ADD COLUMN media_item INTEGER REFERENCES media_items (id);
ALTER TABLE outbox ADD COLUMN caption_html TEXT;
ALTER TABLE outbox ADD COLUMN sent_photo INTEGER;

-- For people reading the database: each post's files with where they are.
CREATE VIEW post_media AS
SELECT coalesce(c.username, CAST(m.channel_id AS TEXT)) AS channel, m.channel_id,
       m.message_id, m.version, m.kind, m.size, m.mime_type, m.file_name, m.status,
       m.attempts, m.last_error, m.sha256, f.path, f.phash, m.fetched_at
FROM media_items m LEFT JOIN channels c USING (channel_id)
LEFT JOIN media_files f ON f.sha256 = m.sha256;
