ALTER TABLE workshops DROP COLUMN cancellation_hours;
