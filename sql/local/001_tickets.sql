-- Local warehouse (DuckDB and PostgreSQL 15): the same columns as sql/001_tickets.sql without Redshift's
-- encodings and keys. The PRIMARY KEY is enforced here, so a duplicate ticket_id cannot slip in.
-- tests/contract/test_schema_contract.py checks both files against contract/models/.

CREATE TABLE IF NOT EXISTS tickets (
    ticket_id                 VARCHAR(64)       NOT NULL,
    submitted_at              TIMESTAMP         NOT NULL,
    customer_first_name       VARCHAR(100)      NOT NULL,
    customer_last_name        VARCHAR(100)      NOT NULL,
    customer_full_name        VARCHAR(200)      NOT NULL,
    customer_email            VARCHAR(254)      NOT NULL,
    product                   VARCHAR(100)      NOT NULL,
    issue_type                VARCHAR(100)      NOT NULL,
    subject                   VARCHAR(256)      NOT NULL,
    description               VARCHAR(65535)    NOT NULL,
    response_text             VARCHAR(8000)     NOT NULL,
    sentiment                 VARCHAR(16)       NOT NULL,
    sentiment_score_mixed     DOUBLE PRECISION  NOT NULL,
    sentiment_score_negative  DOUBLE PRECISION  NOT NULL,
    sentiment_score_neutral   DOUBLE PRECISION  NOT NULL,
    sentiment_score_positive  DOUBLE PRECISION  NOT NULL,
    priority                  VARCHAR(16)       NOT NULL,
    priority_reasoning        VARCHAR(2000)     NOT NULL,
    processed_at              TIMESTAMP         NOT NULL,
    company                   VARCHAR(200)      NULL,
    status                    VARCHAR(16)       NOT NULL,
    model_id                  VARCHAR(128)      NOT NULL,
    pii_entity_types          VARCHAR(512)      NULL,
    incident_id               VARCHAR(68)       NULL,
    usage_llm_input_tokens            BIGINT            NOT NULL  DEFAULT 0,
    usage_llm_output_tokens           BIGINT            NOT NULL  DEFAULT 0,
    usage_embedding_input_tokens      BIGINT            NOT NULL  DEFAULT 0,
    usage_comprehend_sentiment_units  BIGINT            NOT NULL  DEFAULT 0,
    usage_comprehend_pii_units        BIGINT            NOT NULL  DEFAULT 0,
    usage_state_transitions           BIGINT            NOT NULL  DEFAULT 0,
    usage_lambda_requests             BIGINT            NOT NULL  DEFAULT 0,
    usage_lambda_gb_seconds           DOUBLE PRECISION  NOT NULL  DEFAULT 0,
    usage_kinesis_put_kib             BIGINT            NOT NULL  DEFAULT 0,
    usage_dynamodb_write_units        BIGINT            NOT NULL  DEFAULT 0,
    usage_dynamodb_read_units         BIGINT            NOT NULL  DEFAULT 0,
    usage_s3_put_requests             BIGINT            NOT NULL  DEFAULT 0,
    usage_sns_publishes               BIGINT            NOT NULL  DEFAULT 0,
    model_priority            VARCHAR(16)       NULL,
    priority_flags            VARCHAR(64)       NULL,
    sources                   VARCHAR(4096)     NULL,
    retrieval_confidence      DOUBLE PRECISION  NULL,
    PRIMARY KEY (ticket_id)
);

-- Local bookkeeping (on AWS the quarantine lives only in S3): the archive records that are currently bad,
-- one row per source object, so `tms demo` and the report can count them.
CREATE TABLE IF NOT EXISTS tickets_quarantine (
    source                    VARCHAR(1024)     NOT NULL,
    reason                    VARCHAR           NOT NULL,
    record                    VARCHAR           NOT NULL,
    quarantined_at            TIMESTAMP         NOT NULL,
    PRIMARY KEY (source)
);
