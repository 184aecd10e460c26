-- Workshops with limited seats, enrollments and their payments. Each seat is a row of
-- `workshop_seats`: enrolling claims a free one (`FOR UPDATE SKIP LOCKED`), so there are never
-- more enrollments than seats, and concurrent enrollments lock different rows and commit in
-- parallel instead of queueing on one counter.

CREATE TABLE workshops (
    id               UUID PRIMARY KEY,
    name             TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      TEXT CHECK (char_length(description) <= 5000),
    category_id      UUID NOT NULL REFERENCES interests (id) ON DELETE RESTRICT,
    starts_at        TIMESTAMPTZ NOT NULL,
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 10080),
    modality         TEXT NOT NULL CHECK (modality IN ('in_person', 'online')),
    location         TEXT CHECK (char_length(location) BETWEEN 1 AND 500),
    link             TEXT CHECK (char_length(link) BETWEEN 1 AND 500),
    price            NUMERIC(12, 2) NOT NULL CHECK (price > 0 AND price <= 1000000),
    capacity         INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT workshops_place_matches_modality
        CHECK ((modality = 'in_person' AND location IS NOT NULL) OR (modality = 'online' AND link IS NOT NULL))
);
CREATE UNIQUE INDEX workshops_name_key ON workshops (lower(name));
CREATE INDEX workshops_starts_at_id_idx ON workshops (starts_at, id);
CREATE INDEX workshops_category_id_idx ON workshops (category_id);

CREATE TABLE enrollments (
    id           UUID PRIMARY KEY,
    workshop_id  UUID NOT NULL REFERENCES workshops (id) ON DELETE RESTRICT,
    client_id    UUID NOT NULL REFERENCES clients (id) ON DELETE RESTRICT,
    status       TEXT NOT NULL DEFAULT 'pending_payment'
        CHECK (status IN ('pending_payment', 'partially_paid', 'paid', 'cancelled')),
    price        NUMERIC(12, 2) NOT NULL CHECK (price > 0),
    amount_paid  NUMERIC(12, 2) NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancelled_at TIMESTAMPTZ,
    CONSTRAINT enrollments_paid_within_price CHECK (amount_paid >= 0 AND amount_paid <= price),
    CONSTRAINT enrollments_status_matches_payment CHECK (
        status = 'cancelled'
        OR (status = 'pending_payment' AND amount_paid = 0)
        OR (status = 'partially_paid' AND amount_paid > 0 AND amount_paid < price)
        OR (status = 'paid' AND amount_paid = price))
);
-- One live enrollment per client and workshop; a cancelled one does not block enrolling again.
CREATE UNIQUE INDEX enrollments_one_per_client ON enrollments (workshop_id, client_id) WHERE status <> 'cancelled';
CREATE INDEX enrollments_client_id_idx ON enrollments (client_id);
CREATE INDEX enrollments_created_at_id_idx ON enrollments (created_at, id);

-- `capacity` rows per workshop; `enrollment_id` is set while a live enrollment holds the seat.
CREATE TABLE workshop_seats (
    workshop_id   UUID NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    seat_no       INTEGER NOT NULL,
    enrollment_id UUID REFERENCES enrollments (id) ON DELETE SET NULL,
    PRIMARY KEY (workshop_id, seat_no)
);
CREATE UNIQUE INDEX workshop_seats_enrollment_key ON workshop_seats (enrollment_id);
CREATE INDEX workshop_seats_free_idx ON workshop_seats (workshop_id, seat_no) WHERE enrollment_id IS NULL;

CREATE TABLE enrollment_payments (
    id            UUID PRIMARY KEY,
    enrollment_id UUID NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    amount        NUMERIC(12, 2) NOT NULL CHECK (amount > 0),
    method        TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'cash', 'paypal')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX enrollment_payments_enrollment_id_idx ON enrollment_payments (enrollment_id, id);
