-- A media item's file location (access hash, file reference) is valid for the watching
-- account that read the post only (docs/media.md, docs/accounts.md): which one it was.
-- NULL: not known (items queued before this migration, imports); the downloader then
-- takes the location as the channel's holder's.
ALTER TABLE media_items ADD COLUMN account TEXT;
