-- Foundation schema: companies, interests, clients and their interests.
-- Enumerations are TEXT with CHECK constraints: readable in psql, simple to extend.

CREATE TABLE companies (
    id          UUID PRIMARY KEY,
    legal_name  TEXT NOT NULL CHECK (char_length(legal_name) BETWEEN 1 AND 200),
    tax_id      TEXT NOT NULL CHECK (char_length(tax_id) BETWEEN 1 AND 50),
    address     TEXT CHECK (char_length(address) <= 500),
    phone       TEXT CHECK (char_length(phone) <= 40),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT companies_legal_name_key UNIQUE (legal_name),
    CONSTRAINT companies_tax_id_key UNIQUE (tax_id)
);

CREATE TABLE interests (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description TEXT CHECK (char_length(description) <= 1000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX interests_name_key ON interests (lower(name));

CREATE TABLE clients (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email        TEXT NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    phone        TEXT CHECK (char_length(phone) <= 40),
    kind         TEXT NOT NULL CHECK (kind IN ('b2c', 'b2b')),
    company_id   UUID REFERENCES companies (id) ON DELETE RESTRICT,
    plan         TEXT NOT NULL DEFAULT 'basic' CHECK (plan IN ('basic', 'premium', 'enterprise')),
    plan_status  TEXT NOT NULL DEFAULT 'active' CHECK (plan_status IN ('trial', 'active', 'past_due', 'cancelled')),
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT clients_b2b_requires_company CHECK (kind <> 'b2b' OR company_id IS NOT NULL)
);
-- Emails are unique regardless of case.
CREATE UNIQUE INDEX clients_email_key ON clients (lower(email));
CREATE INDEX clients_company_id_idx ON clients (company_id);
CREATE INDEX clients_name_id_idx ON clients (name, id);
CREATE INDEX clients_created_at_id_idx ON clients (created_at, id);

CREATE TABLE client_interests (
    client_id    UUID NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    interest_id  UUID NOT NULL REFERENCES interests (id) ON DELETE RESTRICT,
    PRIMARY KEY (client_id, interest_id)
);
CREATE INDEX client_interests_interest_id_idx ON client_interests (interest_id);
