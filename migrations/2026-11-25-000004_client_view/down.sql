DROP FUNCTION IF EXISTS client_view(uuid, timestamptz);
