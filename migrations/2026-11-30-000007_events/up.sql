-- Events: the transactional outbox (written by the unit of work that makes each change),
-- webhook endpoints and their deliveries.

-- An event is inserted unsequenced by the transaction that makes the change. The sequencer
-- (one at a time, under an advisory lock) numbers committed events in one gap-free increasing
-- series, so a reader that resumes after sequence N never misses an event that committed late.
CREATE TABLE events (
    id           UUID PRIMARY KEY,
    sequence     BIGINT UNIQUE,
    type         TEXT NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    occurred_at  TIMESTAMPTZ NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   UUID NOT NULL,
    data         JSONB NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX events_unsequenced ON events (id) WHERE sequence IS NULL;
CREATE INDEX events_subject ON events (subject_id, sequence);
CREATE INDEX events_type ON events (type, sequence);

-- Whether an event type matches a list of patterns: `*`, an exact type, or `family.*`.
CREATE FUNCTION event_type_matches(patterns TEXT[], event_type TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(patterns) AS p
        WHERE p = '*' OR p = event_type OR (right(p, 2) = '.*' AND starts_with(event_type, left(p, -1)))
    )
$$;

-- Workshops announced as sold out. Only the sequencer writes here, from the committed seats it
-- sees when it numbers an enrollment's event: once per time a workshop fills, re-armed when a
-- seat is released. (A column on `workshops` would make it wait for every enrolling
-- transaction's share lock on the workshop row.)
CREATE TABLE workshop_sold_out (
    workshop_id UUID PRIMARY KEY REFERENCES workshops (id) ON DELETE CASCADE,
    since       TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_endpoints (
    id             UUID PRIMARY KEY,
    url            TEXT NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    description    TEXT CHECK (char_length(description) <= 500),
    event_types    TEXT[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    secret         TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    -- The first failure since the last success; an endpoint failing for WEBHOOK_DISABLE_AFTER
    -- is disabled.
    failing_since  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- One event (or ping) to one endpoint. `sequence` orders an endpoint's deliveries: the next is
-- sent only once every earlier one succeeded or was given up. Pings have no sequence.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        UUID REFERENCES events (id) ON DELETE CASCADE,
    sequence        BIGINT,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (endpoint_id, sequence)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- Every HTTP attempt of a delivery, as the receiver answered it.
CREATE TABLE webhook_attempts (
    id            UUID PRIMARY KEY,
    delivery_id   UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  TIMESTAMPTZ NOT NULL,
    status_code   INTEGER,
    duration_ms   INTEGER NOT NULL,
    error         TEXT,
    succeeded     BOOLEAN NOT NULL
);
CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id, attempted_at);
