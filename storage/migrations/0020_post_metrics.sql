-- Engagement over time: a sample of a post's counters each time a read found them
-- changed, at most one per stage of the post's age (storage/metrics.py: under 1 h,
-- 1-6 h, 6-24 h, 24-48 h, 2-7 days, 7-30 days, older). Thin rows: the time is whole
-- Unix seconds, and the reactions are kept only when they differ from the sample before.

CREATE TABLE post_metrics (
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    at              INTEGER NOT NULL,     -- when tgmon read the counters (Unix seconds, UTC)
    views           INTEGER,
    forwards        INTEGER,
    replies         INTEGER,
    reactions_total INTEGER,              -- sum of the reactions' counts
    reactions       TEXT,                 -- JSON {"emoji": count}; NULL: as in the sample before
    PRIMARY KEY (post_id, at)
) WITHOUT ROWID;

CREATE TRIGGER post_metrics_never_deleted BEFORE DELETE ON post_metrics BEGIN
    SELECT RAISE (ABORT, 'metrics samples are never deleted');
END;
