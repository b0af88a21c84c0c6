-- For a warehouse created before cost per ticket (issue 17): the usage_<unit> columns (contract.models.TicketUsage:
-- model tokens, Comprehend units, state transitions, Lambda GB-seconds, requests). New warehouses need none of
-- this (sql/001_tickets.sql has them). Each is added at the end with DEFAULT 0, so the rows already loaded read
-- as "no usage recorded" (`tms cost` averages only over tickets that have usage); the staging table is
-- re-created LIKE tickets by the next Glue run's preactions (glue/job.py).
-- Run connected as tms_loader with `SET search_path TO support;`, in this order (column order = 001_tickets.sql).

ALTER TABLE tickets ADD COLUMN usage_llm_input_tokens BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_llm_output_tokens BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_embedding_input_tokens BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_comprehend_sentiment_units BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_comprehend_pii_units BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_state_transitions BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_lambda_requests BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_lambda_gb_seconds DOUBLE PRECISION NOT NULL DEFAULT 0 ENCODE zstd;
ALTER TABLE tickets ADD COLUMN usage_kinesis_put_kib BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_dynamodb_write_units BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_dynamodb_read_units BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_s3_put_requests BIGINT NOT NULL DEFAULT 0 ENCODE az64;
ALTER TABLE tickets ADD COLUMN usage_sns_publishes BIGINT NOT NULL DEFAULT 0 ENCODE az64;
DROP TABLE IF EXISTS tickets_staging;
