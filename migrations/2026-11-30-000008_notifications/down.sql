CREATE INDEX events_type ON events (type, sequence);
DROP INDEX events_of_client;
ALTER TABLE events DROP COLUMN client_id;
DROP TABLE notifications;
