-- Redshift: analytics views over tickets. The local warehouse (DuckDB, PostgreSQL) runs this same file,
-- translated by tools/analytics/warehouse.py:to_local_dialect (DATEDIFF becomes EXTRACT(EPOCH ...)).

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

-- First-response SLA attainment per priority and per day the response was due (issue 14), from
-- ticket_lifecycle (fed by the tickets table's stream) joined to tickets for the triaged priority when the
-- item carries none. "First response" = the reply was sent to the customer, or the ticket was resolved.
-- A ticket is answered in time when its first response came at or before sla_due_at; breached when the
-- timer recorded a breach or the response came late; pending while neither (not yet due, or due and the
-- breach not recorded yet). attainment_pct = answered in time / (answered in time + breached), NULL while
-- nothing of that day and priority is decided.
CREATE OR REPLACE VIEW v_sla_attainment AS
SELECT day, priority,
       COUNT(*) AS tickets_due,
       SUM(in_time) AS answered_in_time,
       SUM(breached) AS breached,
       COUNT(*) - SUM(in_time) - SUM(breached) AS pending,
       CAST(100 * SUM(in_time) AS DOUBLE PRECISION) / NULLIF(SUM(in_time) + SUM(breached), 0) AS attainment_pct
FROM (
    SELECT CAST(l.sla_due_at AS DATE) AS day,
           COALESCE(l.priority, t.priority) AS priority,
           CASE WHEN l.first_response_at <= l.sla_due_at AND NOT l.sla_breached THEN 1 ELSE 0 END AS in_time,
           CASE WHEN l.sla_breached OR l.first_response_at > l.sla_due_at THEN 1 ELSE 0 END AS breached
    FROM ticket_lifecycle AS l
    LEFT JOIN tickets AS t ON t.ticket_id = l.ticket_id
    WHERE l.sla_due_at IS NOT NULL
) AS due
GROUP BY day, priority;

-- How tickets end (issue 32), per week of submission, agent (the assignee; '(nobody)' when unowned),
-- category (the issue type) and priority. An ended ticket is RESOLVED (by an agent) or CLOSED (auto-close:
-- the customer did not answer in the waiting period). resolution time = submission to the end, seconds;
-- reopen_rate = ended tickets the customer reopened at least once / ended; auto_closed_share = closed by
-- auto-close / ended; csat = satisfied answers (4 or 5 of 5, or thumbs up) / answers, the share Zendesk's
-- benchmark (85 % for email) is drawn against in `tms report`. Ratios are NULL while their base is zero.
CREATE OR REPLACE VIEW v_ticket_outcomes AS
SELECT week, agent, category, priority,
       COUNT(*) AS tickets,
       SUM(ended) AS ended,
       AVG(CAST(DATEDIFF(millisecond, submitted_at, ended_at) AS DOUBLE PRECISION) / 1000)
           AS avg_resolution_seconds,
       PERCENTILE_CONT(0.5) WITHIN GROUP (
           ORDER BY CAST(DATEDIFF(millisecond, submitted_at, ended_at) AS DOUBLE PRECISION) / 1000
       ) AS p50_resolution_seconds,
       CAST(SUM(reopened) AS DOUBLE PRECISION) / NULLIF(SUM(ended), 0) AS reopen_rate,
       CAST(SUM(auto_closed) AS DOUBLE PRECISION) / NULLIF(SUM(ended), 0) AS auto_closed_share,
       SUM(rated) AS ratings,
       SUM(satisfied) AS satisfied,
       CAST(SUM(satisfied) AS DOUBLE PRECISION) / NULLIF(SUM(rated), 0) AS csat
FROM (
    SELECT CAST(DATE_TRUNC('week', t.submitted_at) AS DATE) AS week,
           COALESCE(l.assignee, '(nobody)') AS agent,
           t.issue_type AS category,
           COALESCE(l.priority, t.priority) AS priority,
           CASE WHEN l.status IN ('RESOLVED', 'CLOSED') THEN 1 ELSE 0 END AS ended,
           t.submitted_at AS submitted_at,
           CASE WHEN l.status IN ('RESOLVED', 'CLOSED') THEN COALESCE(l.closed_at, l.resolved_at) END AS ended_at,
           CASE WHEN l.status IN ('RESOLVED', 'CLOSED') AND l.reopen_count > 0 THEN 1 ELSE 0 END AS reopened,
           CASE WHEN l.status = 'CLOSED' AND l.close_reason = 'no_answer' THEN 1 ELSE 0 END AS auto_closed,
           CASE WHEN l.csat_rating IS NOT NULL THEN 1 ELSE 0 END AS rated,
           CASE WHEN l.csat_rating IN ('4', '5', 'up') THEN 1 ELSE 0 END AS satisfied
    FROM ticket_lifecycle AS l
    JOIN tickets AS t ON t.ticket_id = l.ticket_id
) AS outcomes
GROUP BY week, agent, category, priority;

-- Measured acceptance (issue 30.5): one row per ticket whose reply was sent, with what the report groups
-- by: the week it was sent, the category (issue type), product, the model that drafted it and whether the
-- draft was grounded (it carried knowledge-base sources). edit_distance: 0 = sent as drafted, 1 = nothing
-- kept. The bands (unchanged / lightly edited / rewritten) are drawn by `tms report` from
-- contract/defaults.py ACCEPTANCE_LIGHT_EDIT_MAX, so the threshold is written once.
CREATE OR REPLACE VIEW v_reply_acceptance AS
SELECT l.ticket_id,
       CAST(DATE_TRUNC('week', l.sent_at) AS DATE) AS week,
       t.issue_type AS category,
       t.product AS product,
       t.model_id AS model_id,
       CASE WHEN t.sources IS NOT NULL AND t.sources <> '' THEN TRUE ELSE FALSE END AS grounded,
       l.reply_edit_distance AS edit_distance,
       l.sent_unchanged AS sent_unchanged
FROM ticket_lifecycle AS l
JOIN tickets AS t ON t.ticket_id = l.ticket_id
WHERE l.sent_at IS NOT NULL AND l.reply_edit_distance IS NOT NULL;

-- Incidents: every report with its incident, the root included. A root was alone when it was archived
-- (incident_id ''), so it is found through its members: an incident's id is 'INC-' + the root's id
-- without its 'TKT-' prefix (pipeline/domain/incidents.py:incident_id_for).
CREATE OR REPLACE VIEW v_incident_members AS
SELECT incident_id, ticket_id, submitted_at, product, priority, company
FROM tickets
WHERE incident_id IS NOT NULL AND incident_id <> ''
UNION
SELECT m.incident_id, r.ticket_id, r.submitted_at, r.product, r.priority, r.company
FROM tickets AS r
JOIN tickets AS m
  ON m.incident_id = 'INC-' || CASE WHEN r.ticket_id LIKE 'TKT-%' THEN SUBSTRING(r.ticket_id, 5, 64)
                                    ELSE r.ticket_id END;

-- One row per incident: reports, products, first and last report, duration in seconds, HIGH reports.
CREATE OR REPLACE VIEW v_incidents AS
SELECT incident_id, reports, products, high_reports, first_report, last_report,
       CAST(DATEDIFF(millisecond, first_report, last_report) AS DOUBLE PRECISION) / 1000 AS duration_seconds
FROM (
    SELECT incident_id, COUNT(*) AS reports, COUNT(DISTINCT product) AS products,
           SUM(CASE WHEN priority = 'HIGH' THEN 1 ELSE 0 END) AS high_reports,
           MIN(submitted_at) AS first_report, MAX(submitted_at) AS last_report
    FROM v_incident_members
    GROUP BY incident_id
) AS incidents;

-- First response per agent (issue 32): each owned ticket's time from submission to its first response
-- (the reply reached the customer, or the ticket was resolved), grouped by its owner now; routing's owner and
-- a Take it count alike. Tickets still unanswered count in `tickets` only.
CREATE OR REPLACE VIEW v_first_response_by_agent AS
SELECT l.assignee AS agent,
       COUNT(*) AS tickets,
       COUNT(l.first_response_at) AS answered,
       AVG(EXTRACT(EPOCH FROM (l.first_response_at - t.submitted_at))) AS avg_seconds,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (l.first_response_at - t.submitted_at)))
           AS p50_seconds
FROM ticket_lifecycle AS l
JOIN tickets AS t ON t.ticket_id = l.ticket_id
WHERE l.assignee IS NOT NULL AND l.assignee <> ''
GROUP BY l.assignee;
