-- How far each relay of the outbox got: the last sequence it published. Sequences are handed
-- out gap-free in commit order, so a position is an exact mark of what was published.
CREATE TABLE relay_positions (
    relay         TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL CHECK (last_sequence >= 0),
    updated_at    TIMESTAMPTZ NOT NULL
);

-- The column never carried anything: the relay position replaces it.
ALTER TABLE events DROP COLUMN published_at;
