-- Redshift: analytics views over tickets. The local warehouse (DuckDB, PostgreSQL) runs this same file,
-- translated by pipeline/tools/analytics/warehouse.py:to_local_dialect (DATEDIFF becomes EXTRACT(EPOCH ...)).

-- Tickets by priority per submission day.
CREATE OR REPLACE VIEW v_tickets_by_priority_day AS
SELECT CAST(submitted_at AS DATE) AS day, priority, COUNT(*) AS tickets
FROM tickets
GROUP BY 1, 2;

-- Sentiment mix per product: counts and each label's share of the product's tickets.
CREATE OR REPLACE VIEW v_sentiment_mix_by_product AS
SELECT product, sentiment, COUNT(*) AS tickets,
       CAST(COUNT(*) AS DOUBLE PRECISION) / SUM(COUNT(*)) OVER (PARTITION BY product) AS share
FROM tickets
GROUP BY product, sentiment;

-- Share of HIGH priority per issue type.
CREATE OR REPLACE VIEW v_high_share_by_issue_type AS
SELECT issue_type, COUNT(*) AS tickets,
       SUM(CASE WHEN priority = 'HIGH' THEN 1 ELSE 0 END) AS high_tickets,
       CAST(SUM(CASE WHEN priority = 'HIGH' THEN 1 ELSE 0 END) AS DOUBLE PRECISION) / COUNT(*) AS high_share
FROM tickets
GROUP BY issue_type;

-- Time from submission to triage (processed_at), per submission day, in seconds.
CREATE OR REPLACE VIEW v_triage_latency AS
SELECT day, COUNT(*) AS tickets,
       AVG(seconds) AS avg_seconds,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) AS p50_seconds,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_seconds,
       MAX(seconds) AS max_seconds
FROM (
    SELECT CAST(submitted_at AS DATE) AS day,
           CAST(DATEDIFF(millisecond, submitted_at, processed_at) AS DOUBLE PRECISION) / 1000 AS seconds
    FROM tickets
) AS latency
GROUP BY day;
