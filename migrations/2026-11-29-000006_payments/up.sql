-- Payments: one ledger for orders, enrollments and plan subscriptions, the steps of each
-- payment's saga, refunds, plans and subscriptions, and idempotency keys.

-- Plans are data: their prices change without a release.
CREATE TABLE plans (
    code          TEXT PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name          TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description   TEXT CHECK (char_length(description) <= 500),
    monthly_price NUMERIC(12, 2) NOT NULL CHECK (monthly_price > 0),
    position      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO plans (code, name, description, monthly_price, position) VALUES
    ('basic', 'Basic', 'Catalogue and workshop newsletters, standard support', 9.00, 1),
    ('premium', 'Premium', 'Early workshop seats, priority support, 10 % member pricing', 29.00, 2),
    ('enterprise', 'Enterprise', 'Several contacts per company, account manager, invoicing', 99.00, 3);

ALTER TABLE clients ADD COLUMN paid_until TIMESTAMPTZ;
ALTER TABLE clients ADD CONSTRAINT clients_plan_fkey FOREIGN KEY (plan) REFERENCES plans (code) ON DELETE RESTRICT;

CREATE TABLE subscriptions (
    id            UUID PRIMARY KEY,
    client_id     UUID NOT NULL REFERENCES clients (id) ON DELETE RESTRICT,
    plan          TEXT NOT NULL REFERENCES plans (code) ON DELETE RESTRICT,
    months        INTEGER NOT NULL CHECK (months BETWEEN 1 AND 36),
    monthly_price NUMERIC(12, 2) NOT NULL CHECK (monthly_price > 0),
    amount        NUMERIC(14, 2) NOT NULL,
    amount_paid   NUMERIC(14, 2) NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'pending_payment'
        CHECK (status IN ('pending_payment', 'active', 'past_due', 'cancelled')),
    paid_until    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancelled_at  TIMESTAMPTZ,
    CONSTRAINT subscriptions_amount_is_price_times_months CHECK (amount = monthly_price * months),
    CONSTRAINT subscriptions_paid_within_amount CHECK (amount_paid >= 0 AND amount_paid <= amount)
);
CREATE INDEX subscriptions_client_id_idx ON subscriptions (client_id, id);
CREATE INDEX subscriptions_active_paid_until_idx ON subscriptions (paid_until) WHERE status = 'active';

-- An order paid in full is confirmed; refunded in full after shipping it becomes `refunded`.
ALTER TABLE orders ADD COLUMN amount_paid NUMERIC(14, 2) NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_paid_within_total CHECK (amount_paid >= 0 AND amount_paid <= total);
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'confirmed', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded'));

-- Exactly one subject per payment. `amount_refunded` counts refunds in progress too, so that
-- two refunds can never together exceed the payment; a processing payment counts against its
-- subject's balance for the same reason.
CREATE TABLE payments (
    id                UUID PRIMARY KEY,
    subject_type      TEXT NOT NULL CHECK (subject_type IN ('order', 'enrollment', 'subscription')),
    order_id          UUID REFERENCES orders (id) ON DELETE RESTRICT,
    enrollment_id     UUID REFERENCES enrollments (id) ON DELETE RESTRICT,
    subscription_id   UUID REFERENCES subscriptions (id) ON DELETE RESTRICT,
    client_id         UUID NOT NULL REFERENCES clients (id) ON DELETE RESTRICT,
    amount            NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    amount_refunded   NUMERIC(14, 2) NOT NULL DEFAULT 0,
    method            TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'cash', 'paypal')),
    token             TEXT CHECK (char_length(token) BETWEEN 1 AND 100),
    description       TEXT CHECK (char_length(description) <= 500),
    status            TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed', 'refunded')),
    failure_code      TEXT,
    failure_message   TEXT,
    gateway_reference TEXT,
    -- Until when the process driving the saga owns it; the worker resumes it after that.
    lease_until       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at      TIMESTAMPTZ,
    CONSTRAINT payments_one_subject CHECK (
        (subject_type = 'order' AND order_id IS NOT NULL AND enrollment_id IS NULL AND subscription_id IS NULL)
        OR (subject_type = 'enrollment' AND enrollment_id IS NOT NULL AND order_id IS NULL AND subscription_id IS NULL)
        OR (subject_type = 'subscription' AND subscription_id IS NOT NULL AND order_id IS NULL AND enrollment_id IS NULL)),
    CONSTRAINT payments_refunded_within_amount CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    CONSTRAINT payments_failure_explained CHECK (status <> 'failed' OR failure_code IS NOT NULL)
);
CREATE INDEX payments_order_id_idx ON payments (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payments_enrollment_id_idx ON payments (enrollment_id, id) WHERE enrollment_id IS NOT NULL;
CREATE INDEX payments_subscription_id_idx ON payments (subscription_id) WHERE subscription_id IS NOT NULL;
CREATE INDEX payments_client_id_idx ON payments (client_id, id);
CREATE INDEX payments_processing_lease_idx ON payments (lease_until) WHERE status = 'processing';

CREATE TABLE payment_steps (
    payment_id  UUID NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
    step        TEXT NOT NULL CHECK (step IN ('reserve', 'charge', 'apply', 'compensate')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (payment_id, step)
);

CREATE TABLE refunds (
    id                UUID PRIMARY KEY,
    payment_id        UUID NOT NULL REFERENCES payments (id) ON DELETE RESTRICT,
    amount            NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    reason            TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    -- Made by the saga (the subject could no longer take the money), not by a person.
    automatic         BOOLEAN NOT NULL DEFAULT FALSE,
    status            TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
    failure_code      TEXT,
    failure_message   TEXT,
    gateway_reference TEXT,
    lease_until       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at      TIMESTAMPTZ,
    CONSTRAINT refunds_failure_explained CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX refunds_payment_id_idx ON refunds (payment_id, id);
CREATE INDEX refunds_processing_lease_idx ON refunds (lease_until) WHERE status = 'processing';

-- The payments recorded before the ledger, with nothing lost: same ids, amounts, methods and
-- times; they were recorded by staff, so they succeeded when made.
INSERT INTO payments (id, subject_type, enrollment_id, client_id, amount, method, status, created_at, updated_at, completed_at)
SELECT p.id, 'enrollment', p.enrollment_id, e.client_id, p.amount, p.method, 'succeeded', p.created_at, p.created_at, p.created_at
  FROM enrollment_payments p JOIN enrollments e ON e.id = p.enrollment_id;
DROP TABLE enrollment_payments;

-- A POST's idempotency key: claimed before the handler runs, marked `committed` in the same
-- transaction as the request's effect, and holding the response once it is known. (Keys are
-- global for now; with API keys they will be scoped to the caller.)
CREATE TABLE idempotency_keys (
    key             TEXT PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 255),
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'committed', 'completed')),
    locked_until    TIMESTAMPTZ,
    response_status SMALLINT,
    response_headers JSONB,
    response_body   BYTEA,
    -- Where a retry is sent when the effect committed but the response was lost.
    recovery_path   TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- The client view's activity says what the client paid (payments less refunds) and what its
-- orders still owe; refunded orders count as neither spent nor owed.
CREATE OR REPLACE FUNCTION client_activity(p_id uuid, p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN json_build_object(
        'order_count', (SELECT count(*) FROM orders WHERE client_id = p_id),
        'total_spent', (SELECT coalesce(sum(total), 0)::text FROM orders
                         WHERE client_id = p_id AND status NOT IN ('cancelled', 'refunded')),
        'orders_owed', (SELECT coalesce(sum(total - amount_paid), 0)::text FROM orders
                         WHERE client_id = p_id AND status NOT IN ('cancelled', 'refunded')),
        'total_paid', (SELECT coalesce(sum(amount - amount_refunded), 0)::text FROM payments
                        WHERE client_id = p_id AND status IN ('succeeded', 'refunded')),
        'last_order', (SELECT json_build_object('id', lo.id, 'status', lo.status, 'total', lo.total::text,
                                                'created_at', lo.created_at)
                         FROM orders lo WHERE lo.client_id = p_id ORDER BY lo.id DESC LIMIT 1),
        'open_enrollments', (SELECT coalesce(json_agg(json_build_object(
                                        'enrollment_id', e.id, 'workshop_id', w.id, 'workshop_name', w.name,
                                        'starts_at', w.starts_at, 'status', e.status, 'price', e.price::text,
                                        'amount_paid', e.amount_paid::text)
                                    ORDER BY w.starts_at, e.id), '[]'::json)
                               FROM enrollments e JOIN workshops w ON w.id = e.workshop_id
                              WHERE e.client_id = p_id AND e.status <> 'cancelled'
                                AND (w.starts_at > p_now OR e.status <> 'paid'))
    )::text;
END
$$;
