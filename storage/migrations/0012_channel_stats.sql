-- Stats kept, not recomputed: `tgmon stats` and /status read per-channel counters and
-- runs of message ids that triggers keep up to date as posts and absent ids are written,
-- instead of reading every post (10 s at a million posts). storage/stats.py and
-- storage/coverage.py read them; a test compares them with a full recount.

-- Per channel: what the summary of `tgmon stats` shows, and coverage's counts.
CREATE TABLE channel_stats (
    channel_id        INTEGER PRIMARY KEY REFERENCES channels (channel_id),
    posts             INTEGER NOT NULL DEFAULT 0,   -- stored posts (tombstoned included)
    first_date        TEXT,                         -- earliest post date
    last_date         TEXT,
    low_id            INTEGER,                      -- lowest message id of a post
    high_id           INTEGER,                      -- highest message id of a post
    edited            INTEGER NOT NULL DEFAULT 0,   -- posts with an edit date
    with_versions     INTEGER NOT NULL DEFAULT 0,   -- posts with more than one version
    deleted           INTEGER NOT NULL DEFAULT 0,   -- tombstoned posts
    absent            INTEGER NOT NULL DEFAULT 0,   -- absent_messages rows
    absent_low        INTEGER,                      -- their lowest message id
    via_live          INTEGER NOT NULL DEFAULT 0,   -- posts by capture path
    via_catch_up      INTEGER NOT NULL DEFAULT 0,
    via_backfill      INTEGER NOT NULL DEFAULT 0,
    via_import        INTEGER NOT NULL DEFAULT 0,
    gone_deleted      INTEGER NOT NULL DEFAULT 0,   -- absent ids that are not posts, by reason
    gone_service      INTEGER NOT NULL DEFAULT 0,
    gone_empty        INTEGER NOT NULL DEFAULT 0,
    last_capture      TEXT                          -- latest first_seen of a post
);

-- Runs of consecutive message ids: kind 0 the ids the log knows (posts and absent ids),
-- kind 1 the ids of posts. Holes are the gaps between known runs.
CREATE TABLE id_runs (
    channel_id  INTEGER NOT NULL,
    kind        INTEGER NOT NULL CHECK (kind IN (0, 1)),
    lo          INTEGER NOT NULL,
    hi          INTEGER NOT NULL,
    PRIMARY KEY (channel_id, kind, lo)
) WITHOUT ROWID;

INSERT INTO channel_stats (channel_id) SELECT channel_id FROM channels;

UPDATE channel_stats SET (posts, first_date, last_date, low_id, high_id, edited,
                          with_versions, deleted, via_live, via_catch_up, via_backfill,
                          via_import, last_capture) = (
    SELECT count(*), min(date), max(date), min(message_id), max(message_id),
           coalesce(sum(edit_date IS NOT NULL), 0), coalesce(sum(version > 1), 0),
           coalesce(sum(deleted_at IS NOT NULL), 0),
           coalesce(sum(captured_via = 'live'), 0), coalesce(sum(captured_via = 'catch-up'), 0),
           coalesce(sum(captured_via = 'backfill'), 0), coalesce(sum(captured_via = 'import'), 0),
           max(first_seen)
    FROM posts p WHERE p.channel_id = channel_stats.channel_id);

UPDATE channel_stats SET (absent, absent_low, gone_deleted, gone_service, gone_empty) = (
    SELECT count(*), min(a.message_id),
           coalesce(sum(a.reason = 'deleted' AND p.id IS NULL), 0),
           coalesce(sum(a.reason = 'service' AND p.id IS NULL), 0),
           coalesce(sum(a.reason = 'empty' AND p.id IS NULL), 0)
    FROM absent_messages a LEFT JOIN posts p
         ON p.channel_id = a.channel_id AND p.message_id = a.message_id
    WHERE a.channel_id = channel_stats.channel_id);

-- Runs of the ids there are: consecutive ids share message_id - row_number().
INSERT INTO id_runs (channel_id, kind, lo, hi)
SELECT channel_id, 1, min(message_id), max(message_id) FROM (
    SELECT channel_id, message_id,
           message_id - row_number() OVER (PARTITION BY channel_id ORDER BY message_id) AS g
    FROM posts)
GROUP BY channel_id, g;

INSERT INTO id_runs (channel_id, kind, lo, hi)
SELECT channel_id, 0, min(message_id), max(message_id) FROM (
    SELECT channel_id, message_id,
           message_id - row_number() OVER (PARTITION BY channel_id ORDER BY message_id) AS g
    FROM (SELECT channel_id, message_id FROM posts
          UNION SELECT channel_id, message_id FROM absent_messages))
GROUP BY channel_id, g;

CREATE TRIGGER channels_stats_row AFTER INSERT ON channels BEGIN
    INSERT INTO channel_stats (channel_id) VALUES (new.channel_id);
END;

-- A new post. (Adding id X to a set of runs: extend the run ending at X - 1, to the end
-- of the run starting at X + 1 if there is one, which then goes; else that run starts
-- at X; else X is a run of its own. Each step is a lookup of the primary key.)
CREATE TRIGGER posts_stats_insert AFTER INSERT ON posts BEGIN
    UPDATE channel_stats SET
        posts = posts + 1,
        first_date = iif(first_date IS NULL OR new.date < first_date, new.date, first_date),
        last_date = iif(last_date IS NULL OR new.date > last_date, new.date, last_date),
        low_id = iif(low_id IS NULL OR new.message_id < low_id, new.message_id, low_id),
        high_id = iif(high_id IS NULL OR new.message_id > high_id, new.message_id, high_id),
        edited = edited + (new.edit_date IS NOT NULL),
        with_versions = with_versions + (new.version > 1),
        deleted = deleted + (new.deleted_at IS NOT NULL),
        via_live = via_live + (new.captured_via = 'live'),
        via_catch_up = via_catch_up + (new.captured_via = 'catch-up'),
        via_backfill = via_backfill + (new.captured_via = 'backfill'),
        via_import = via_import + (new.captured_via = 'import'),
        last_capture = iif(last_capture IS NULL OR new.first_seen > last_capture,
                           new.first_seen, last_capture)
    WHERE channel_id = new.channel_id;
    -- an absent id that becomes a post counts as the post
    UPDATE channel_stats SET
        gone_deleted = gone_deleted - (a.reason = 'deleted'),
        gone_service = gone_service - (a.reason = 'service'),
        gone_empty = gone_empty - (a.reason = 'empty')
    FROM (SELECT reason FROM absent_messages
          WHERE channel_id = new.channel_id AND message_id = new.message_id) a
    WHERE channel_id = new.channel_id;
    UPDATE id_runs SET hi = coalesce(
        (SELECT r.hi FROM id_runs r WHERE r.channel_id = new.channel_id AND r.kind = 1
         AND r.lo = new.message_id + 1), new.message_id)
    WHERE channel_id = new.channel_id AND kind = 1 AND hi = new.message_id - 1
      AND lo = (SELECT max(lo) FROM id_runs WHERE channel_id = new.channel_id AND kind = 1 AND lo < new.message_id);
    DELETE FROM id_runs WHERE channel_id = new.channel_id AND kind = 1 AND lo = new.message_id + 1
      AND (SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 1 AND lo < new.message_id
           ORDER BY lo DESC LIMIT 1) > new.message_id;
    UPDATE id_runs SET lo = new.message_id WHERE channel_id = new.channel_id AND kind = 1 AND lo = new.message_id + 1;
    INSERT INTO id_runs (channel_id, kind, lo, hi) SELECT new.channel_id, 1, new.message_id, new.message_id
    WHERE coalesce((SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 1 AND lo <= new.message_id
                    ORDER BY lo DESC LIMIT 1), new.message_id - 1) < new.message_id;
END;

CREATE TRIGGER posts_known_insert AFTER INSERT ON posts
WHEN NOT EXISTS (SELECT 1 FROM absent_messages
                 WHERE channel_id = new.channel_id AND message_id = new.message_id) BEGIN
    UPDATE id_runs SET hi = coalesce(
        (SELECT r.hi FROM id_runs r WHERE r.channel_id = new.channel_id AND r.kind = 0
         AND r.lo = new.message_id + 1), new.message_id)
    WHERE channel_id = new.channel_id AND kind = 0 AND hi = new.message_id - 1
      AND lo = (SELECT max(lo) FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo < new.message_id);
    DELETE FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo = new.message_id + 1
      AND (SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo < new.message_id
           ORDER BY lo DESC LIMIT 1) > new.message_id;
    UPDATE id_runs SET lo = new.message_id WHERE channel_id = new.channel_id AND kind = 0 AND lo = new.message_id + 1;
    INSERT INTO id_runs (channel_id, kind, lo, hi) SELECT new.channel_id, 0, new.message_id, new.message_id
    WHERE coalesce((SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo <= new.message_id
                    ORDER BY lo DESC LIMIT 1), new.message_id - 1) < new.message_id;
END;

CREATE TRIGGER posts_stats_edited AFTER UPDATE OF edit_date ON posts
WHEN (old.edit_date IS NULL) != (new.edit_date IS NULL) BEGIN
    UPDATE channel_stats SET edited = edited + (new.edit_date IS NOT NULL) - (old.edit_date IS NOT NULL)
    WHERE channel_id = new.channel_id;
END;

CREATE TRIGGER posts_stats_versions AFTER UPDATE OF version ON posts
WHEN (old.version > 1) != (new.version > 1) BEGIN
    UPDATE channel_stats SET with_versions = with_versions + (new.version > 1) - (old.version > 1)
    WHERE channel_id = new.channel_id;
END;

CREATE TRIGGER posts_stats_deleted AFTER UPDATE OF deleted_at ON posts
WHEN (old.deleted_at IS NULL) != (new.deleted_at IS NULL) BEGIN
    UPDATE channel_stats SET deleted = deleted + (new.deleted_at IS NOT NULL) - (old.deleted_at IS NOT NULL)
    WHERE channel_id = new.channel_id;
END;

CREATE TRIGGER absent_stats_insert AFTER INSERT ON absent_messages BEGIN
    UPDATE channel_stats SET
        absent = absent + 1,
        absent_low = iif(absent_low IS NULL OR new.message_id < absent_low, new.message_id,
                         absent_low)
    WHERE channel_id = new.channel_id;
END;

CREATE TRIGGER absent_known_insert AFTER INSERT ON absent_messages
WHEN NOT EXISTS (SELECT 1 FROM posts
                 WHERE channel_id = new.channel_id AND message_id = new.message_id) BEGIN
    UPDATE channel_stats SET
        gone_deleted = gone_deleted + (new.reason = 'deleted'),
        gone_service = gone_service + (new.reason = 'service'),
        gone_empty = gone_empty + (new.reason = 'empty')
    WHERE channel_id = new.channel_id;
    UPDATE id_runs SET hi = coalesce(
        (SELECT r.hi FROM id_runs r WHERE r.channel_id = new.channel_id AND r.kind = 0
         AND r.lo = new.message_id + 1), new.message_id)
    WHERE channel_id = new.channel_id AND kind = 0 AND hi = new.message_id - 1
      AND lo = (SELECT max(lo) FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo < new.message_id);
    DELETE FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo = new.message_id + 1
      AND (SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo < new.message_id
           ORDER BY lo DESC LIMIT 1) > new.message_id;
    UPDATE id_runs SET lo = new.message_id WHERE channel_id = new.channel_id AND kind = 0 AND lo = new.message_id + 1;
    INSERT INTO id_runs (channel_id, kind, lo, hi) SELECT new.channel_id, 0, new.message_id, new.message_id
    WHERE coalesce((SELECT hi FROM id_runs WHERE channel_id = new.channel_id AND kind = 0 AND lo <= new.message_id
                    ORDER BY lo DESC LIMIT 1), new.message_id - 1) < new.message_id;
END;
