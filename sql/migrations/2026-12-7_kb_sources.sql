-- For a warehouse created before grounded drafts (issue 30): the knowledge-base sources a draft used (a JSON
-- array of {id, title, uri, score}; "" when none) and the best retrieval score (NULL: the knowledge base was
-- not consulted). New warehouses need none of this (sql/001_tickets.sql has them). Both are NULL columns
-- added at the end, in place in Redshift; rows loaded before read as NULL ("not recorded"). The staging
-- table is re-created LIKE tickets by the next Glue run's preactions (glue/job.py).
-- Run connected as tms_loader with `SET search_path TO support;`, in this order (column order = 001_tickets.sql).

ALTER TABLE tickets ADD COLUMN sources VARCHAR(4096) NULL ENCODE zstd;
ALTER TABLE tickets ADD COLUMN retrieval_confidence DOUBLE PRECISION NULL ENCODE zstd;
DROP TABLE IF EXISTS tickets_staging;
