-- Staging -> target upsert on ticket_id (the newest processed_at wins). Generated from
-- contract/models/ by `python -m tools.analytics.contract`; a contract test fails when it
-- drifts. Runs unchanged on Redshift, PostgreSQL 15 and DuckDB, after the batch (deduplicated: one
-- row per ticket_id) is loaded into tickets_staging. Re-runs and older replays change nothing.

DELETE FROM tickets_staging
USING tickets
WHERE tickets_staging.ticket_id = tickets.ticket_id
  AND tickets.processed_at >= tickets_staging.processed_at;

MERGE INTO tickets
USING tickets_staging
ON tickets.ticket_id = tickets_staging.ticket_id
WHEN MATCHED THEN UPDATE SET
    submitted_at = tickets_staging.submitted_at,
    customer_first_name = tickets_staging.customer_first_name,
    customer_last_name = tickets_staging.customer_last_name,
    customer_full_name = tickets_staging.customer_full_name,
    customer_email = tickets_staging.customer_email,
    product = tickets_staging.product,
    issue_type = tickets_staging.issue_type,
    subject = tickets_staging.subject,
    description = tickets_staging.description,
    response_text = tickets_staging.response_text,
    sentiment = tickets_staging.sentiment,
    sentiment_score_mixed = tickets_staging.sentiment_score_mixed,
    sentiment_score_negative = tickets_staging.sentiment_score_negative,
    sentiment_score_neutral = tickets_staging.sentiment_score_neutral,
    sentiment_score_positive = tickets_staging.sentiment_score_positive,
    priority = tickets_staging.priority,
    priority_reasoning = tickets_staging.priority_reasoning,
    processed_at = tickets_staging.processed_at,
    company = tickets_staging.company,
    status = tickets_staging.status,
    model_id = tickets_staging.model_id,
    pii_entity_types = tickets_staging.pii_entity_types,
    incident_id = tickets_staging.incident_id,
    usage_llm_input_tokens = tickets_staging.usage_llm_input_tokens,
    usage_llm_output_tokens = tickets_staging.usage_llm_output_tokens,
    usage_embedding_input_tokens = tickets_staging.usage_embedding_input_tokens,
    usage_comprehend_sentiment_units = tickets_staging.usage_comprehend_sentiment_units,
    usage_comprehend_pii_units = tickets_staging.usage_comprehend_pii_units,
    usage_state_transitions = tickets_staging.usage_state_transitions,
    usage_lambda_requests = tickets_staging.usage_lambda_requests,
    usage_lambda_gb_seconds = tickets_staging.usage_lambda_gb_seconds,
    usage_kinesis_put_kib = tickets_staging.usage_kinesis_put_kib,
    usage_dynamodb_write_units = tickets_staging.usage_dynamodb_write_units,
    usage_dynamodb_read_units = tickets_staging.usage_dynamodb_read_units,
    usage_s3_put_requests = tickets_staging.usage_s3_put_requests,
    usage_sns_publishes = tickets_staging.usage_sns_publishes,
    model_priority = tickets_staging.model_priority,
    priority_flags = tickets_staging.priority_flags,
    sources = tickets_staging.sources,
    retrieval_confidence = tickets_staging.retrieval_confidence
WHEN NOT MATCHED THEN INSERT (ticket_id, submitted_at, customer_first_name, customer_last_name, customer_full_name, customer_email, product, issue_type, subject, description, response_text, sentiment, sentiment_score_mixed, sentiment_score_negative, sentiment_score_neutral, sentiment_score_positive, priority, priority_reasoning, processed_at, company, status, model_id, pii_entity_types, incident_id, usage_llm_input_tokens, usage_llm_output_tokens, usage_embedding_input_tokens, usage_comprehend_sentiment_units, usage_comprehend_pii_units, usage_state_transitions, usage_lambda_requests, usage_lambda_gb_seconds, usage_kinesis_put_kib, usage_dynamodb_write_units, usage_dynamodb_read_units, usage_s3_put_requests, usage_sns_publishes, model_priority, priority_flags, sources, retrieval_confidence)
    VALUES (tickets_staging.ticket_id, tickets_staging.submitted_at, tickets_staging.customer_first_name, tickets_staging.customer_last_name, tickets_staging.customer_full_name, tickets_staging.customer_email, tickets_staging.product, tickets_staging.issue_type, tickets_staging.subject, tickets_staging.description, tickets_staging.response_text, tickets_staging.sentiment, tickets_staging.sentiment_score_mixed, tickets_staging.sentiment_score_negative, tickets_staging.sentiment_score_neutral, tickets_staging.sentiment_score_positive, tickets_staging.priority, tickets_staging.priority_reasoning, tickets_staging.processed_at, tickets_staging.company, tickets_staging.status, tickets_staging.model_id, tickets_staging.pii_entity_types, tickets_staging.incident_id, tickets_staging.usage_llm_input_tokens, tickets_staging.usage_llm_output_tokens, tickets_staging.usage_embedding_input_tokens, tickets_staging.usage_comprehend_sentiment_units, tickets_staging.usage_comprehend_pii_units, tickets_staging.usage_state_transitions, tickets_staging.usage_lambda_requests, tickets_staging.usage_lambda_gb_seconds, tickets_staging.usage_kinesis_put_kib, tickets_staging.usage_dynamodb_write_units, tickets_staging.usage_dynamodb_read_units, tickets_staging.usage_s3_put_requests, tickets_staging.usage_sns_publishes, tickets_staging.model_priority, tickets_staging.priority_flags, tickets_staging.sources, tickets_staging.retrieval_confidence);
