-- Digests read a period's edits from the journal by kind and time: an index makes that
-- a range instead of a read of the whole journal.
CREATE INDEX post_changes_by_kind_at ON post_changes (kind, at);
