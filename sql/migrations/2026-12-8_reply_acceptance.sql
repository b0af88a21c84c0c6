-- For a warehouse created before measured acceptance (issue 30.5): how much the agent changed the drafted
-- reply before it was sent (reply_edit_distance, a normalised word-level edit distance, 0 = sent as drafted)
-- and whether it went out unchanged (sent_unchanged). New warehouses need none of this
-- (sql/002_ticket_lifecycle.sql has them). Columns are added at the end, in place in Redshift; rows loaded
-- before read as NULL ("not recorded"). Then the views again, for v_reply_acceptance.
-- Run connected as tms_loader with `SET search_path TO support;`, in this order (column order =
-- 002_ticket_lifecycle.sql).

ALTER TABLE ticket_lifecycle ADD COLUMN reply_edit_distance DOUBLE PRECISION NULL ENCODE zstd;
ALTER TABLE ticket_lifecycle ADD COLUMN sent_unchanged BOOLEAN NULL ENCODE raw;
DROP TABLE IF EXISTS ticket_lifecycle_staging;
CREATE TABLE IF NOT EXISTS ticket_lifecycle_staging (LIKE ticket_lifecycle);
-- Then sql/020_views.sql (CREATE OR REPLACE VIEW: adds v_reply_acceptance, the others stay as they are).
