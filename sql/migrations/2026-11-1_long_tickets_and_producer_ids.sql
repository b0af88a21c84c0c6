-- For a warehouse created before long tickets and producer-chosen ids (issue 12): ticket_id VARCHAR(32) ->
-- VARCHAR(64), description VARCHAR(4500) -> VARCHAR(65535). New warehouses need none of this
-- (sql/001_tickets.sql already has the new widths).
-- Redshift widens a VARCHAR in place (ALTER COLUMN ... TYPE), but not a PRIMARY KEY column, so ticket_id
-- needs a deep copy. Run connected as tms_loader with `SET search_path TO support;`, while no Glue run is
-- going (pause the schedule or run it between loads). Views depend on tickets: 020_views.sql is re-run last.

BEGIN;
ALTER TABLE tickets RENAME TO tickets_before_issue_12;
DROP TABLE IF EXISTS tickets_staging;
COMMIT;

-- Now run sql/001_tickets.sql (the new tickets and tickets_staging), then:

BEGIN;
-- The columns a table of before issue 12 has; columns added later (pii_entity_types, ...) stay NULL.
INSERT INTO tickets (ticket_id, submitted_at, customer_first_name, customer_last_name, customer_full_name,
    customer_email, product, issue_type, subject, description, response_text, sentiment,
    sentiment_score_mixed, sentiment_score_negative, sentiment_score_neutral, sentiment_score_positive,
    priority, priority_reasoning, processed_at, company, status, model_id)
SELECT * FROM tickets_before_issue_12;
COMMIT;

-- Check the row counts match, run sql/020_views.sql again, then:
-- DROP TABLE tickets_before_issue_12 CASCADE;
