ALTER TABLE events ADD COLUMN published_at TIMESTAMPTZ;
DROP TABLE relay_positions;
