-- Each text stored once. The current text, media, entities and edit date of a post live
-- in `posts` only; `post_versions` becomes a view: the rows of `stored_versions` (every
-- earlier version, and the current version's first state once its entities or edit date
-- changed without a new version) and, for every post whose current version has no such
-- row, the current version read off `posts`. The view gives exactly the rows the table
-- held (a test migrates a database of the old schema and compares every row).
--
-- Readers inside tgmon query `stored_versions` and `posts` directly: SQLite materialises
-- a UNION ALL view that is joined, and that would read every post.

-- When tgmon first saw the current version; NULL for version 1 (then it is first_seen).
ALTER TABLE posts ADD COLUMN version_seen_at TEXT;

UPDATE posts SET version_seen_at = (
    SELECT v.seen_at FROM post_versions v WHERE v.post_id = posts.id AND v.version = posts.version)
WHERE version > 1;

-- A rowid table: rows hold a whole text, which a WITHOUT ROWID table would spill to
-- overflow pages at twice its size.
CREATE TABLE stored_versions (
    id              INTEGER PRIMARY KEY,
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
    UNIQUE (post_id, version)
);

INSERT INTO stored_versions (post_id, version, text, entities, media_kind, media_file_name,
                             media_size, media_mime_type, edit_date, seen_at)
SELECT v.post_id, v.version, v.text, v.entities, v.media_kind, v.media_file_name,
       v.media_size, v.media_mime_type, v.edit_date, v.seen_at
FROM post_versions v JOIN posts p ON p.id = v.post_id
WHERE v.version != p.version
   OR v.text IS NOT p.text OR v.entities IS NOT p.entities
   OR v.media_kind IS NOT p.media_kind OR v.media_file_name IS NOT p.media_file_name
   OR v.media_size IS NOT p.media_size OR v.media_mime_type IS NOT p.media_mime_type
   OR v.edit_date IS NOT p.edit_date
   OR v.seen_at IS NOT coalesce(p.version_seen_at, p.first_seen)
ORDER BY v.post_id, v.version;

DROP VIEW post_history;
DROP TRIGGER post_versions_never_deleted;
DROP TRIGGER post_versions_never_changed;
DROP TABLE post_versions;

CREATE VIEW post_versions AS
SELECT post_id, version, text, entities, media_kind, media_file_name, media_size,
       media_mime_type, edit_date, seen_at
FROM stored_versions
UNION ALL
SELECT p.id, p.version, p.text, p.entities, p.media_kind, p.media_file_name, p.media_size,
       p.media_mime_type, p.edit_date, coalesce(p.version_seen_at, p.first_seen)
FROM posts p
WHERE NOT EXISTS (SELECT 1 FROM stored_versions s
                  WHERE s.post_id = p.id AND s.version = p.version);

-- History is never erased (the view answers as the table did).
CREATE TRIGGER stored_versions_never_deleted BEFORE DELETE ON stored_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never deleted');
END;
CREATE TRIGGER stored_versions_never_changed BEFORE UPDATE ON stored_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never changed');
END;
CREATE TRIGGER post_versions_never_deleted INSTEAD OF DELETE ON post_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never deleted');
END;
CREATE TRIGGER post_versions_never_changed INSTEAD OF UPDATE ON post_versions BEGIN
    SELECT RAISE (ABORT, 'post versions are never changed');
END;

-- A post's first version is the post itself: nothing to copy.
DROP TRIGGER posts_after_insert;
CREATE TRIGGER posts_after_insert AFTER INSERT ON posts BEGIN
    INSERT INTO fts_pending (post_id) VALUES (new.id);
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'new', new.version, new.first_seen, new.captured_via);
END;

-- A new version: the version it replaces moves to stored_versions (unless its first
-- state is there already), and the upsert sets posts.version_seen_at. (No OR IGNORE in
-- triggers: the upsert's own conflict handling would override it.) The search index is
-- kept as migration 0010 keeps it: the normalised text (tgmon_search_text).
DROP TRIGGER posts_after_new_version;
CREATE TRIGGER posts_after_new_version AFTER UPDATE OF version ON posts
WHEN new.version > old.version BEGIN
    INSERT INTO stored_versions (post_id, version, text, entities, media_kind,
                                 media_file_name, media_size, media_mime_type, edit_date,
                                 seen_at)
    SELECT old.id, old.version, old.text, old.entities, old.media_kind, old.media_file_name,
           old.media_size, old.media_mime_type, old.edit_date,
           coalesce(old.version_seen_at, old.first_seen)
    WHERE NOT EXISTS (SELECT 1 FROM stored_versions
                      WHERE post_id = old.id AND version = old.version);
    INSERT INTO posts_fts (posts_fts, rowid, text)
    SELECT 'delete', old.id, tgmon_search_text(old.text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    INSERT INTO posts_fts (rowid, text)
    SELECT new.id, tgmon_search_text(new.text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = new.id);
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'edit', new.version, new.last_seen, new.captured_via);
END;

-- Entities or the edit date changed without a new version (a formatting-only edit):
-- the version's first state is kept, as the old table kept it.
CREATE TRIGGER posts_after_restyle AFTER UPDATE OF entities, edit_date ON posts
WHEN new.version = old.version
 AND (new.entities IS NOT old.entities OR new.edit_date IS NOT old.edit_date) BEGIN
    INSERT INTO stored_versions (post_id, version, text, entities, media_kind,
                                 media_file_name, media_size, media_mime_type, edit_date,
                                 seen_at)
    SELECT old.id, old.version, old.text, old.entities, old.media_kind, old.media_file_name,
           old.media_size, old.media_mime_type, old.edit_date,
           coalesce(old.version_seen_at, old.first_seen)
    WHERE NOT EXISTS (SELECT 1 FROM stored_versions
                      WHERE post_id = old.id AND version = old.version);
END;

-- For people reading the log in the sqlite3 shell: each arm joins on its own, so a
-- filter on a channel or a message reaches the indexes.
CREATE VIEW post_history AS
SELECT coalesce(c.username, CAST(p.channel_id AS TEXT)) AS channel,
       p.channel_id, p.message_id, v.version, v.text, v.media_kind, v.edit_date, v.seen_at,
       p.deleted_at
FROM stored_versions v JOIN posts p ON p.id = v.post_id JOIN channels c USING (channel_id)
UNION ALL
SELECT coalesce(c.username, CAST(p.channel_id AS TEXT)), p.channel_id, p.message_id,
       p.version, p.text, p.media_kind, p.edit_date,
       coalesce(p.version_seen_at, p.first_seen), p.deleted_at
FROM posts p JOIN channels c USING (channel_id)
WHERE NOT EXISTS (SELECT 1 FROM stored_versions s
                  WHERE s.post_id = p.id AND s.version = p.version);
