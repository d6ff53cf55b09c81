-- Full-text search reads text as rules do: the index holds each post's latest text
-- normalised (storage/normalise.py: invisible characters dropped, accents on Cyrillic
-- letters dropped, compatibility forms such as 𝐊𝐮𝐫𝐬𝐤 or fullwidth letters made plain,
-- look-alike letters of another script inside a word replaced; ё written е), through the
-- SQL function tgmon_search_text that storage/db.py registers on every connection.
-- Searches are normalised the same way (storage.export.fts_query). posts.text is not
-- touched. Note that FTS5's 'rebuild' would index posts.text as stored: rebuild as this
-- migration does instead.

DROP TRIGGER posts_after_new_version;
CREATE TRIGGER posts_after_new_version AFTER UPDATE OF version ON posts
WHEN new.version > old.version BEGIN
    INSERT INTO post_versions (post_id, version, text, entities, media_kind, media_file_name,
                               media_size, media_mime_type, edit_date, seen_at)
    VALUES (new.id, new.version, new.text, new.entities, new.media_kind, new.media_file_name,
            new.media_size, new.media_mime_type, new.edit_date, new.last_seen);
    INSERT INTO posts_fts (posts_fts, rowid, text)
    SELECT 'delete', old.id, tgmon_search_text(old.text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    INSERT INTO posts_fts (rowid, text)
    SELECT new.id, tgmon_search_text(new.text)
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = new.id);
    INSERT INTO post_changes (post_id, kind, version, at, captured_via)
    VALUES (new.id, 'edit', new.version, new.last_seen, new.captured_via);
END;

-- Re-index every post (those still waiting in fts_pending too: none should be).
INSERT INTO posts_fts (posts_fts) VALUES ('delete-all');
INSERT INTO posts_fts (rowid, text) SELECT id, tgmon_search_text(text) FROM posts;
DELETE FROM fts_pending;

-- What the index was built with (storage.normalise.search_version): storage/db.py
-- rebuilds it the same way on open when tgmon's normalisation or Python's Unicode
-- database has changed since.
CREATE TABLE fts_normalisation (
    version TEXT NOT NULL
);
INSERT INTO fts_normalisation (version) VALUES (tgmon_search_version());
