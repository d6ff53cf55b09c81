-- Webhooks: each alert of a chat is also POSTed as JSON to the chat's URL (/webhook),
-- signed with the chat's secret. Deliveries go through the outbox in a lane of their own
-- ('webhook': its own sender, retries and give-up), so they never delay a message to
-- Telegram. A webhook delivery's row holds the JSON body in `html`.
CREATE TABLE webhooks (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats (chat_id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,            -- HMAC-SHA256 key of X-Tgmon-Signature (shown once)
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT 'telegram'
    CHECK (lane IN ('telegram', 'webhook'));

-- The Telegram sender reads its own lane only, however long the webhooks' queue grows.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (priority, id)
    WHERE status = 'pending' AND lane = 'telegram';
CREATE INDEX outbox_webhooks_pending ON outbox (id)
    WHERE status = 'pending' AND lane = 'webhook';
