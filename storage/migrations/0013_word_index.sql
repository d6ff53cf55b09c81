-- The word index: rule backtests (/test, /alert, tgmon rules test, the digest's rule
-- sections) look up candidate posts instead of analysing every post of the period.
--
-- Analysis (lemmas, skeletons) is Python's, so SQL cannot fill the index: posts wait in
-- words_pending (every existing post, and each new or edited one, by trigger) until
-- the indexer (bot/rules/indexer.py: the running app, `tgmon index`, and `tgmon rules
-- test` before it answers) analyses them, in batches, resumably. Searches treat a
-- pending post as a candidate, so answers never depend on how far the indexer got.
--
-- post_words files each post under its words: tokens of a month bucket and a word
-- (see storage/word_index.py), no text, no positions (contentless, detail=none).
-- index_words is the vocabulary: each word once, with its keys; index_word_keys finds
-- the words that have a key.

CREATE VIRTUAL TABLE post_words USING fts5 (
    words, content = '', columnsize = 0, detail = none,
    tokenize = 'ascii'
);

CREATE TABLE index_words (
    id     INTEGER PRIMARY KEY,
    word   TEXT NOT NULL UNIQUE,          -- languages letter + folded form
    keys   TEXT NOT NULL                  -- its keys, space-separated
);

CREATE VIRTUAL TABLE index_word_keys USING fts5 (
    keys, content = '', columnsize = 0, detail = none, tokenize = 'ascii'
);

-- Posts to (re-)index. indexed_version: the version of the post the index holds words
-- of (to delete them), NULL if none.
CREATE TABLE words_pending (
    post_id          INTEGER PRIMARY KEY,
    indexed_version  INTEGER
);

-- version: the analysis the index was built with (bot.rules.postwords.INDEX_VERSION);
-- NULL until the first indexing, and an index of another version is rebuilt.
CREATE TABLE word_index_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  TEXT
);
INSERT INTO word_index_state (id, version) VALUES (1, NULL);

INSERT INTO words_pending (post_id) SELECT id FROM posts;

CREATE TRIGGER posts_words_new AFTER INSERT ON posts BEGIN
    INSERT INTO words_pending (post_id) VALUES (new.id);
END;

-- (No OR IGNORE in triggers: the upsert's conflict handling would override it.)
CREATE TRIGGER posts_words_edited AFTER UPDATE OF version ON posts
WHEN new.version > old.version BEGIN
    INSERT INTO words_pending (post_id, indexed_version)
    SELECT new.id, old.version
    WHERE NOT EXISTS (SELECT 1 FROM words_pending WHERE post_id = new.id);
END;
