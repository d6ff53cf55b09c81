-- Scheduled digests. A chat without a row gets the default: daily at TGMON_DIGEST_TIME
-- in its time zone. The row also holds what was sent last, so that a digest is sent
-- once whatever restarts happen (the mark is written in the transaction that puts the
-- digest's messages in the outbox).
CREATE TABLE digest_schedules (
    chat_id      INTEGER PRIMARY KEY REFERENCES chats (chat_id),
    at_time      TEXT,               -- local 'HH:MM'; NULL = TGMON_DIGEST_TIME
    days         TEXT,               -- 'mon,wed,fri'; NULL = every day
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    set_by       INTEGER,            -- who last changed it (a group's digests follow their access)
    changed_at   TEXT,               -- schedule or time zone changed: earlier due times never count as missed
    last_due     TEXT,               -- due time of the latest scheduled digest sent
    period_end   TEXT,               -- end of the period the latest digest covered (scheduled or /digest now)
    last_sent_at TEXT                -- when that digest was put in the outbox
) WITHOUT ROWID;
