-- Webhooks: each alert of a chat is also POSTed as JSON to the chat's URL (/webhook),
-- signed with the chat's secret. Deliveries go through the outbox as kind 'webhook' (the
-- JSON body in `html`), read by a sender of their own (its own retries and give-up), so
-- they never delay a message to Telegram.
CREATE TABLE webhooks (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats (chat_id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,            -- HMAC-SHA256 key of X-Tgmon-Signature (shown once)
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- The Telegram sender reads its own messages only, however long the webhooks' queue grows.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (priority, id)
    WHERE status = 'pending' AND kind != 'webhook';
CREATE INDEX outbox_webhooks_pending ON outbox (chat_id, id)
    WHERE status = 'pending' AND kind = 'webhook';
