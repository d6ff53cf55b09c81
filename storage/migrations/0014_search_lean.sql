-- The full-text index without positions (detail = none) or document sizes (columnsize
-- = 0, for ranking, which tgmon does not do): under half the size of the
-- full index (about 110 bytes a post instead of 250). tgmon searches posts_fts only
-- for posts that contain every word of a search (`tgmon export --search`, /export),
-- which needs no positions; a word the tokenizer splits (Санкт-Петербург) is searched
-- as its parts (storage.export.fts_query). Phrase and NEAR queries typed by hand in the
-- sqlite3 shell are no longer supported.

DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text, content = 'posts', content_rowid = 'id', detail = none, columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Index what the triggers index: the normalised text (migration 0010; posts waiting in
-- fts_pending are indexed by the batch that stored them, as before), by this
-- normalisation: fts_normalisation says so.
INSERT INTO posts_fts (rowid, text)
SELECT id, tgmon_search_text(text) FROM posts
WHERE id NOT IN (SELECT post_id FROM fts_pending);
UPDATE fts_normalisation SET version = tgmon_search_version();
INSERT INTO posts_fts (posts_fts) VALUES ('optimize');
