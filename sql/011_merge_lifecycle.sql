-- Staging -> target upsert on ticket_id (the newest revision wins). Generated from
-- contract/models/ by `python -m tools.analytics.contract`; a contract test fails when it
-- drifts. Runs unchanged on Redshift, PostgreSQL 15 and DuckDB, after the batch (deduplicated: one
-- row per ticket_id) is loaded into ticket_lifecycle_staging. Re-runs and older replays change nothing.

DELETE FROM ticket_lifecycle_staging
USING ticket_lifecycle
WHERE ticket_lifecycle_staging.ticket_id = ticket_lifecycle.ticket_id
  AND ticket_lifecycle.revision >= ticket_lifecycle_staging.revision;

MERGE INTO ticket_lifecycle
USING ticket_lifecycle_staging
ON ticket_lifecycle.ticket_id = ticket_lifecycle_staging.ticket_id
WHEN MATCHED THEN UPDATE SET
    revision = ticket_lifecycle_staging.revision,
    version = ticket_lifecycle_staging.version,
    status = ticket_lifecycle_staging.status,
    changed_at = ticket_lifecycle_staging.changed_at,
    priority = ticket_lifecycle_staging.priority,
    assignee = ticket_lifecycle_staging.assignee,
    approved_by = ticket_lifecycle_staging.approved_by,
    approved_at = ticket_lifecycle_staging.approved_at,
    first_response_at = ticket_lifecycle_staging.first_response_at,
    first_response_by = ticket_lifecycle_staging.first_response_by,
    sla_due_at = ticket_lifecycle_staging.sla_due_at,
    sla_breached = ticket_lifecycle_staging.sla_breached,
    sent_at = ticket_lifecycle_staging.sent_at,
    customer_replied_at = ticket_lifecycle_staging.customer_replied_at,
    resolved_at = ticket_lifecycle_staging.resolved_at,
    updated_at = ticket_lifecycle_staging.updated_at,
    nudged_at = ticket_lifecycle_staging.nudged_at,
    closed_at = ticket_lifecycle_staging.closed_at,
    close_reason = ticket_lifecycle_staging.close_reason,
    reopen_count = ticket_lifecycle_staging.reopen_count,
    csat_rating = ticket_lifecycle_staging.csat_rating,
    csat_at = ticket_lifecycle_staging.csat_at,
    reply_edit_distance = ticket_lifecycle_staging.reply_edit_distance,
    sent_unchanged = ticket_lifecycle_staging.sent_unchanged
WHEN NOT MATCHED THEN INSERT (ticket_id, revision, version, status, changed_at, priority, assignee, approved_by, approved_at, first_response_at, first_response_by, sla_due_at, sla_breached, sent_at, customer_replied_at, resolved_at, updated_at, nudged_at, closed_at, close_reason, reopen_count, csat_rating, csat_at, reply_edit_distance, sent_unchanged)
    VALUES (ticket_lifecycle_staging.ticket_id, ticket_lifecycle_staging.revision, ticket_lifecycle_staging.version, ticket_lifecycle_staging.status, ticket_lifecycle_staging.changed_at, ticket_lifecycle_staging.priority, ticket_lifecycle_staging.assignee, ticket_lifecycle_staging.approved_by, ticket_lifecycle_staging.approved_at, ticket_lifecycle_staging.first_response_at, ticket_lifecycle_staging.first_response_by, ticket_lifecycle_staging.sla_due_at, ticket_lifecycle_staging.sla_breached, ticket_lifecycle_staging.sent_at, ticket_lifecycle_staging.customer_replied_at, ticket_lifecycle_staging.resolved_at, ticket_lifecycle_staging.updated_at, ticket_lifecycle_staging.nudged_at, ticket_lifecycle_staging.closed_at, ticket_lifecycle_staging.close_reason, ticket_lifecycle_staging.reopen_count, ticket_lifecycle_staging.csat_rating, ticket_lifecycle_staging.csat_at, ticket_lifecycle_staging.reply_edit_distance, ticket_lifecycle_staging.sent_unchanged);
