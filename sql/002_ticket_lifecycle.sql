-- Redshift: the ticket lifecycle table and its staging twin: one row per ticket, its latest state after
-- triage (approval, sending, the customer's answer, ownership, SLA), loaded from the lifecycle/ records
-- that the ticket-lifecycle function writes from the tickets table's DynamoDB stream.
-- Columns follow contract/models/ TicketLifecycle (order = field order; VARCHAR(n) = the model's byte
-- widths; enums are VARCHAR(16)). tests/contract/test_schema_contract.py fails when they drift.
-- `revision` (version, then stream sequence number; see contract.models.lifecycle_revision) decides which
-- record of a ticket wins in sql/011_merge_lifecycle.sql. No free text and no customer data in here.
-- DISTKEY and SORTKEY ticket_id: the views join it to tickets on ticket_id, and so does the MERGE.

CREATE TABLE IF NOT EXISTS ticket_lifecycle (
    ticket_id                 VARCHAR(64)       NOT NULL  ENCODE raw,
    revision                  VARCHAR(64)       NOT NULL  ENCODE zstd,
    version                   BIGINT            NOT NULL  ENCODE az64,
    status                    VARCHAR(16)       NOT NULL  ENCODE bytedict,
    changed_at                TIMESTAMP         NOT NULL  ENCODE az64,
    priority                  VARCHAR(16)       NULL      ENCODE bytedict,
    assignee                  VARCHAR(64)       NULL      ENCODE zstd,
    approved_by               VARCHAR(64)       NULL      ENCODE zstd,
    approved_at               TIMESTAMP         NULL      ENCODE az64,
    first_response_at         TIMESTAMP         NULL      ENCODE az64,
    first_response_by         VARCHAR(64)       NULL      ENCODE zstd,
    sla_due_at                TIMESTAMP         NULL      ENCODE az64,
    sla_breached              BOOLEAN           NOT NULL  ENCODE raw,
    sent_at                   TIMESTAMP         NULL      ENCODE az64,
    customer_replied_at       TIMESTAMP         NULL      ENCODE az64,
    resolved_at               TIMESTAMP         NULL      ENCODE az64,
    updated_at                TIMESTAMP         NULL      ENCODE az64,
    nudged_at                 TIMESTAMP         NULL      ENCODE az64,
    closed_at                 TIMESTAMP         NULL      ENCODE az64,
    close_reason              VARCHAR(16)       NULL      ENCODE bytedict,
    reopen_count              BIGINT            NOT NULL  ENCODE az64,
    csat_rating               VARCHAR(8)        NULL      ENCODE bytedict,
    csat_at                   TIMESTAMP         NULL      ENCODE az64,
    reply_edit_distance       DOUBLE PRECISION  NULL      ENCODE zstd,
    sent_unchanged            BOOLEAN           NULL      ENCODE raw,
    PRIMARY KEY (ticket_id)
)
DISTSTYLE KEY
DISTKEY (ticket_id)
COMPOUND SORTKEY (ticket_id);

-- Emptied, filled and merged by each Glue run, like tickets_staging.
CREATE TABLE IF NOT EXISTS ticket_lifecycle_staging (LIKE ticket_lifecycle);
