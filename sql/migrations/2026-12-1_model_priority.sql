-- For a warehouse created before the rule-based priority bound (issue 27.4): what the reply model suggested
-- (model_priority) and why the final priority differs or the ticket was flagged (priority_flags: capped,
-- raised, instruction_text). New warehouses need none of this (sql/001_tickets.sql has them). Both are NULL
-- columns added at the end, in place in Redshift; rows loaded before read as NULL ("not recorded"). The
-- staging table is re-created LIKE tickets by the next Glue run's preactions (glue/job.py).
-- Run connected as tms_loader with `SET search_path TO support;`, in this order (column order = 001_tickets.sql).

ALTER TABLE tickets ADD COLUMN model_priority VARCHAR(16) NULL ENCODE bytedict;
ALTER TABLE tickets ADD COLUMN priority_flags VARCHAR(64) NULL ENCODE zstd;
DROP TABLE IF EXISTS tickets_staging;
