-- For a warehouse created before PII redaction (issue 16): the column with the PII entity types found in a
-- ticket (comma-separated Comprehend types, e.g. "EMAIL,PHONE"; empty when none). New warehouses need none of
-- this (sql/001_tickets.sql has it). Run after 2026-11-1_long_tickets_and_producer_ids.sql if that one applies,
-- connected as tms_loader with `SET search_path TO support;`, between two Glue runs.
-- Rows loaded before redaction keep NULL: their text was not redacted, and NULL says "not checked".
-- Their subject and description still hold whatever the customer wrote; to purge it, reload them from the
-- archive after redaction or blank those columns (UPDATE tickets SET description = '' WHERE
-- pii_entity_types IS NULL) as your retention policy requires.

ALTER TABLE tickets ADD COLUMN pii_entity_types VARCHAR(512) NULL ENCODE zstd;
-- tickets_staging is created LIKE tickets: recreate it so it has the new column too.
DROP TABLE IF EXISTS tickets_staging;
CREATE TABLE tickets_staging (LIKE tickets);
-- Then run sql/020_views.sql again (views that select tickets.* pick up the column).
