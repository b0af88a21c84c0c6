-- Migrations run in file-name order (1, 2, 3, 4): each adds its column at the end, so an upgraded
-- warehouse has the column order of sql/001_tickets.sql.
-- For a warehouse created before incidents (issue 15): the incident_id column. New warehouses need none of
-- this (sql/001_tickets.sql has it). Adding a NULL column at the end is in place in Redshift; the staging
-- table is re-created LIKE tickets by the next Glue run's preactions (glue/job.py).
-- Run connected as tms_loader with `SET search_path TO support;`, then run sql/020_views.sql again.

ALTER TABLE tickets ADD COLUMN incident_id VARCHAR(68) NULL ENCODE zstd;
DROP TABLE IF EXISTS tickets_staging;
