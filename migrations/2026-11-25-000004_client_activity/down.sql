DROP FUNCTION IF EXISTS client_activity(uuid, timestamptz);
ALTER TABLE clients DROP COLUMN IF EXISTS has_activity;
