-- Local warehouse (DuckDB and PostgreSQL 15): the same columns as sql/002_ticket_lifecycle.sql without
-- Redshift's encodings and keys. tests/contract/test_schema_contract.py checks both files against
-- contract/models/ TicketLifecycle.

CREATE TABLE IF NOT EXISTS ticket_lifecycle (
    ticket_id                 VARCHAR(64)       NOT NULL,
    revision                  VARCHAR(64)       NOT NULL,
    version                   BIGINT            NOT NULL,
    status                    VARCHAR(16)       NOT NULL,
    changed_at                TIMESTAMP         NOT NULL,
    priority                  VARCHAR(16)       NULL,
    assignee                  VARCHAR(64)       NULL,
    approved_by               VARCHAR(64)       NULL,
    approved_at               TIMESTAMP         NULL,
    first_response_at         TIMESTAMP         NULL,
    first_response_by         VARCHAR(64)       NULL,
    sla_due_at                TIMESTAMP         NULL,
    sla_breached              BOOLEAN           NOT NULL,
    sent_at                   TIMESTAMP         NULL,
    customer_replied_at       TIMESTAMP         NULL,
    resolved_at               TIMESTAMP         NULL,
    updated_at                TIMESTAMP         NULL,
    nudged_at                 TIMESTAMP         NULL,
    closed_at                 TIMESTAMP         NULL,
    close_reason              VARCHAR(16)       NULL,
    reopen_count              BIGINT            NOT NULL  DEFAULT 0,
    csat_rating               VARCHAR(8)        NULL,
    csat_at                   TIMESTAMP         NULL,
    reply_edit_distance       DOUBLE PRECISION  NULL,
    sent_unchanged            BOOLEAN           NULL,
    PRIMARY KEY (ticket_id)
);
