-- Staff users and their sign-in sessions. Passwords are stored as argon2id PHC strings; every
-- token is 32 random bytes kept only as its SHA-256 (a slow hash adds nothing to that much
-- randomness). A session is one sign-in on one device and the family of every token it ever
-- issued: its current refresh token, the ones it replaced (kept to recognise reuse), and its
-- access tokens, each valid for minutes. Ending a session (sign-out, a reused refresh token, a
-- password change, a disabled user) is one UPDATE that every replica's next lookup sees.
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email         TEXT NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'sales', 'inventory', 'support', 'readonly')),
    -- NULL until the person sets one through their set-password link.
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device       TEXT CHECK (char_length(device) BETWEEN 1 AND 200),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    -- The current refresh token: each works once.
    refresh_hash BYTEA NOT NULL UNIQUE,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    end_reason   TEXT CHECK (end_reason IN ('sign_out', 'ended_by_user', 'refresh_reuse', 'password_changed', 'user_disabled', 'role_changed', 'expired')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id, id);

-- Refresh tokens a rotation replaced: presenting one again ends its session.
CREATE TABLE used_refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX used_refresh_tokens_session_id_idx ON used_refresh_tokens (session_id);

CREATE TABLE access_tokens (
    hash       BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_tokens_session_id_idx ON access_tokens (session_id);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);

-- Failed sign-ins, per account and per source address (`subject` is `email:<lower email>` or
-- `ip:<address>`): each failure past the allowance doubles the wait before the next attempt, up
-- to a cap, and a success or the wait running out forgives them; nobody is locked out for good.
CREATE TABLE sign_in_failures (
    subject         TEXT PRIMARY KEY CHECK (char_length(subject) BETWEEN 1 AND 300),
    failures        INTEGER NOT NULL CHECK (failures >= 1),
    last_failure_at TIMESTAMPTZ NOT NULL
);

-- The audit log names the person behind a staff session's requests.
ALTER TABLE audit_log ADD COLUMN user_id UUID;
CREATE INDEX audit_log_user_id_idx ON audit_log (user_id, id);

-- Webhook endpoints a staff user creates belong to that user, as a key's belong to the key.
ALTER TABLE webhook_endpoints ADD COLUMN owner_user_id UUID REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX webhook_endpoints_owner_user ON webhook_endpoints (owner_user_id, id);
