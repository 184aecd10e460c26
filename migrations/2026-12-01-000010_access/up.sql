-- API keys: only a SHA-256 of each secret is kept (the secrets are 32 random bytes, so a slow
-- hash adds nothing); `last_four` and the fixed `hcrm_` prefix let people tell keys apart.
-- Named roles keep their scopes in code, so a role's scopes can change without a data
-- migration; `custom` keys carry their own list.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role         TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'sales', 'inventory', 'support', 'readonly', 'custom')),
    scopes       TEXT[] NOT NULL DEFAULT '{}',
    secret_hash  BYTEA NOT NULL UNIQUE,
    last_four    TEXT NOT NULL,
    expires_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

-- Who did what: one row per write under /api/v1. Written in the transaction of the write when
-- there is one (`status` is NULL until the response is known), otherwise after the response.
-- No foreign key to api_keys: the log is history and keys are never deleted, only revoked.
CREATE TABLE audit_log (
    id           UUID PRIMARY KEY,
    occurred_at  TIMESTAMPTZ NOT NULL,
    key_id       UUID,
    operation_id TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    subject_id   TEXT,
    status       SMALLINT,
    request_id   TEXT
);
CREATE INDEX audit_log_key_id_idx ON audit_log (key_id, id);
CREATE INDEX audit_log_subject_id_idx ON audit_log (subject_id, id);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);

-- Idempotency keys are now stored as `<api key id>:<Idempotency-Key>` (each caller has its own).
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_key_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 300);
