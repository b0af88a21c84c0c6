-- For a warehouse created before auto-close and CSAT (issue 32): how a ticket ended (nudged_at, closed_at,
-- close_reason), how often the customer reopened it (reopen_count) and their rating (csat_rating, csat_at;
-- never the comment: it is customer text and stays on the ticket item). New warehouses need none of this
-- (sql/002_ticket_lifecycle.sql has them). Columns are added at the end, in place in Redshift; rows loaded
-- before read as NULL / 0 ("not recorded"). Then the views again, for v_ticket_outcomes.
-- Run connected as tms_loader with `SET search_path TO support;`, in this order (column order =
-- 002_ticket_lifecycle.sql).

ALTER TABLE ticket_lifecycle ADD COLUMN nudged_at TIMESTAMP NULL ENCODE az64;
ALTER TABLE ticket_lifecycle ADD COLUMN closed_at TIMESTAMP NULL ENCODE az64;
ALTER TABLE ticket_lifecycle ADD COLUMN close_reason VARCHAR(16) NULL ENCODE bytedict;
ALTER TABLE ticket_lifecycle ADD COLUMN reopen_count BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE ticket_lifecycle ADD COLUMN csat_rating VARCHAR(8) NULL ENCODE bytedict;
ALTER TABLE ticket_lifecycle ADD COLUMN csat_at TIMESTAMP NULL ENCODE az64;
DROP TABLE IF EXISTS ticket_lifecycle_staging;
CREATE TABLE IF NOT EXISTS ticket_lifecycle_staging (LIKE ticket_lifecycle);
-- Then sql/020_views.sql (CREATE OR REPLACE VIEW: adds v_ticket_outcomes, the others stay as they are).
