-- Full-text indexing of new posts: one statement per stored batch instead of one per post.
--
-- FTS5 (SQLite 3.40) writes its pending terms to disk at every statement savepoint, and
-- each insert into posts that fires a trigger opens one: indexing from the insert
-- trigger wrote one tiny index segment per post and halved the rate of storing posts.
-- New posts now wait in fts_pending (filled by the insert trigger) and store_posts
-- indexes them all at once at the end of each batch, in the same transaction, so
-- nothing outside a transaction ever sees a post missing from the index.

CREATE TABLE fts_pending (
    post_id INTEGER PRIMARY KEY              -- posts.id not yet in posts_fts
);

DROP TRIGGER posts_after_insert;
CREATE TRIGGER posts_after_insert AFTER INSERT ON posts BEGIN
    INSERT INTO post_versions (post_id, version, text, entities, media_kind, media_file_name,
                               media_size, media_mime_type, edit_date, seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.media_file_name,
            new.media_size, new.media_mime_type, new.edit_date, new.last_seen);
    INSERT INTO fts_pending (post_id) VALUES (new.id);
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'new', new.version, new.first_seen, new.captured_via);
END;

-- An edit re-indexes at once, unless the post still waits in fts_pending: it is then
-- indexed with its latest text when the batch is indexed.
DROP TRIGGER posts_after_new_version;
CREATE TRIGGER posts_after_new_version AFTER UPDATE OF version ON posts
WHEN new.version > old.version BEGIN
    INSERT INTO post_versions (post_id, version, text, entities, media_kind, media_file_name,
                               media_size, media_mime_type, edit_date, seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.media_file_name,
            new.media_size, new.media_mime_type, new.edit_date, new.last_seen);
    INSERT INTO posts_fts (posts_fts, rowid, text)
    SELECT 'delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е')
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    INSERT INTO posts_fts (rowid, text)
    SELECT new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е')
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = new.id);
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'edit', new.version, new.last_seen, new.captured_via);
END;
