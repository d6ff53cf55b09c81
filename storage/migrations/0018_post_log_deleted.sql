-- post_log gains `deleted` (1 for a tombstoned post, else 0), at the end: the log in a
-- browser (tgmon serve) facets posts by it; a filter on deleted_at cannot be a facet.
DROP VIEW post_log;
CREATE VIEW post_log AS
SELECT p.id, coalesce(c.username, CAST(p.channel_id AS TEXT)) AS channel,
       p.channel_id, p.message_id, p.date, p.text, p.views, p.forwards, p.replies,
       p.media_kind, p.fwd_name AS forwarded_from, p.reply_to_id, p.grouped_id, p.author,
       p.edit_date, p.deleted_at, p.version, p.captured_via, p.first_seen, p.last_seen,
       CASE WHEN c.username IS NOT NULL
            THEN 'https://t.me/' || c.username || '/' || p.message_id
            ELSE 'https://t.me/c/' || p.channel_id || '/' || p.message_id END AS url,
       p.deleted_at IS NOT NULL AS deleted
FROM posts p JOIN channels c USING (channel_id);
