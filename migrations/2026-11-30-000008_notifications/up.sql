-- Notifications: every message the service sends to a client, queued by the sequencer (from
-- events), by the workshop-reminder sweep and by payment-reminder requests, and every attempt's
-- outcome. `dedupe_key` makes each message once-only (an event's, a reminder's per day).
CREATE TABLE notifications (
    id              UUID PRIMARY KEY,
    client_id       UUID NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    template        TEXT NOT NULL CHECK (template IN ('welcome', 'order_confirmation', 'payment_receipt',
                        'payment_failed', 'enrollment_confirmed', 'workshop_reminder', 'cancellation', 'payment_reminder')),
    dedupe_key      TEXT NOT NULL UNIQUE,
    event_id        UUID,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    transport       TEXT CHECK (transport IN ('smtp', 'log')),
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX notifications_of_client ON notifications (client_id, created_at DESC, id DESC);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Events name the client they concern (an order's, a payment's, …), for the client timeline.
ALTER TABLE events ADD COLUMN client_id UUID;
CREATE INDEX events_of_client ON events (client_id, occurred_at DESC, id DESC) WHERE client_id IS NOT NULL;

-- The feed filters types with `event_type_matches` while it walks the sequence: the (type,
-- sequence) index served no query, and every event paid for it twice (insert and numbering).
DROP INDEX events_type;
