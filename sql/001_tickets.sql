-- Redshift: the tickets fact table and its staging twin.
-- Columns follow contract/models/ ProcessedRecord (order = field order; VARCHAR(n) = the model's byte
-- widths; enums are VARCHAR(16)). tests/contract/test_schema_contract.py fails when they drift.
-- DISTKEY ticket_id: the staging MERGE joins on it, so both sides of the join sit on the same slice.
-- SORTKEY submitted_at: every view and report filters or groups by submission day. A sort key column stays
-- RAW (compressing it defeats zone maps); AZ64 for timestamps, BYTEDICT for the low-cardinality enums,
-- ZSTD for free text and doubles (AZ64 does not take DOUBLE PRECISION).

CREATE TABLE IF NOT EXISTS tickets (
    ticket_id                 VARCHAR(64)       NOT NULL  ENCODE zstd,
    submitted_at              TIMESTAMP         NOT NULL  ENCODE raw,
    customer_first_name       VARCHAR(100)      NOT NULL  ENCODE zstd,
    customer_last_name        VARCHAR(100)      NOT NULL  ENCODE zstd,
    customer_full_name        VARCHAR(200)      NOT NULL  ENCODE zstd,
    customer_email            VARCHAR(254)      NOT NULL  ENCODE zstd,
    product                   VARCHAR(100)      NOT NULL  ENCODE zstd,
    issue_type                VARCHAR(100)      NOT NULL  ENCODE zstd,
    subject                   VARCHAR(256)      NOT NULL  ENCODE zstd,
    description               VARCHAR(65535)    NOT NULL  ENCODE zstd,
    response_text             VARCHAR(8000)     NOT NULL  ENCODE zstd,
    sentiment                 VARCHAR(16)       NOT NULL  ENCODE bytedict,
    sentiment_score_mixed     DOUBLE PRECISION  NOT NULL  ENCODE zstd,
    sentiment_score_negative  DOUBLE PRECISION  NOT NULL  ENCODE zstd,
    sentiment_score_neutral   DOUBLE PRECISION  NOT NULL  ENCODE zstd,
    sentiment_score_positive  DOUBLE PRECISION  NOT NULL  ENCODE zstd,
    priority                  VARCHAR(16)       NOT NULL  ENCODE bytedict,
    priority_reasoning        VARCHAR(2000)     NOT NULL  ENCODE zstd,
    processed_at              TIMESTAMP         NOT NULL  ENCODE az64,
    company                   VARCHAR(200)      NULL      ENCODE zstd,
    status                    VARCHAR(16)       NOT NULL  ENCODE bytedict,
    model_id                  VARCHAR(128)      NOT NULL  ENCODE zstd,
    pii_entity_types          VARCHAR(512)      NULL      ENCODE zstd,
    incident_id               VARCHAR(68)       NULL      ENCODE zstd,
    usage_llm_input_tokens            BIGINT            NOT NULL  ENCODE az64,
    usage_llm_output_tokens           BIGINT            NOT NULL  ENCODE az64,
    usage_embedding_input_tokens      BIGINT            NOT NULL  ENCODE az64,
    usage_comprehend_sentiment_units  BIGINT            NOT NULL  ENCODE az64,
    usage_comprehend_pii_units        BIGINT            NOT NULL  ENCODE az64,
    usage_state_transitions           BIGINT            NOT NULL  ENCODE az64,
    usage_lambda_requests             BIGINT            NOT NULL  ENCODE az64,
    usage_lambda_gb_seconds           DOUBLE PRECISION  NOT NULL  ENCODE zstd,
    usage_kinesis_put_kib             BIGINT            NOT NULL  ENCODE az64,
    usage_dynamodb_write_units        BIGINT            NOT NULL  ENCODE az64,
    usage_dynamodb_read_units         BIGINT            NOT NULL  ENCODE az64,
    usage_s3_put_requests             BIGINT            NOT NULL  ENCODE az64,
    usage_sns_publishes               BIGINT            NOT NULL  ENCODE az64,
    model_priority            VARCHAR(16)       NULL      ENCODE bytedict,
    priority_flags            VARCHAR(64)       NULL      ENCODE zstd,
    sources                   VARCHAR(4096)     NULL      ENCODE zstd,
    retrieval_confidence      DOUBLE PRECISION  NULL      ENCODE zstd,
    PRIMARY KEY (ticket_id)
)
DISTSTYLE KEY
DISTKEY (ticket_id)
COMPOUND SORTKEY (submitted_at);

-- Each Glue run empties it (DELETE, not TRUNCATE: TRUNCATE commits the surrounding transaction), loads the
-- batch, then sql/010_merge.sql moves it into tickets.
CREATE TABLE IF NOT EXISTS tickets_staging (LIKE tickets);
