-- When Telegram ended one of tgmon's accounts: the watching account's authorisation
-- revoked, the account deleted or banned, the bot's token revoked. `tgmon run` stops
-- then; `tgmon stats` and `/status` show the end. `resumed_at` is set when a run gets
-- going again with that account (logged in again, a new token).
CREATE TABLE account_ends (
    id          INTEGER PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('user', 'bot')),
    at          TEXT NOT NULL,
    code        TEXT NOT NULL,      -- Telegram's error, e.g. USER_DEACTIVATED_BAN
    reason      TEXT NOT NULL,      -- in words, with what to do about it
    notified_at TEXT,               -- when the admins were told through the bot
    resumed_at  TEXT
);
CREATE INDEX account_ends_by_role ON account_ends (role, at);
