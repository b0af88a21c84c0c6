-- For a warehouse created before the lifecycle feed (issues 13 and 14): the ticket_lifecycle table, its
-- staging twin and the SLA attainment view. New warehouses need none of this (run sql/002_ticket_lifecycle.sql
-- with the others). Nothing existing changes: tickets keeps its columns and rows.
-- Run connected as tms_loader with `SET search_path TO support;`, before the first Glue run that passes
-- --lifecycle_path (the job refuses to MERGE into a missing table and keeps its bookmark, so nothing is lost).

-- 1. sql/002_ticket_lifecycle.sql (CREATE TABLE IF NOT EXISTS: harmless to run twice).
-- 2. sql/020_views.sql again (CREATE OR REPLACE VIEW: adds v_sla_attainment, the others stay as they are).
-- 3. Backfill: tickets triaged before the feed have no lifecycle record until their item changes again.
--    Touching each open item (e.g. `tms`'s bot actions, or an UpdateItem that sets updated_at) sends it
--    through the stream; tickets already resolved stay out of v_sla_attainment, which counts only tickets
--    with a lifecycle row and a due time.

SELECT COUNT(*) AS lifecycle_rows FROM ticket_lifecycle;
