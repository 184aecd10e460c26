-- Customer accounts: a person who signs in to the store API as one client. The account is
-- attached to its client only once its email is verified when a client with that email existed
-- before (registering alone never attaches anyone to someone else's records); a registration
-- that creates its client is attached at once but signs in only once verified too.
CREATE TABLE customer_accounts (
    id                UUID PRIMARY KEY,
    client_id         UUID UNIQUE REFERENCES clients (id) ON DELETE CASCADE,
    email             TEXT NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash     TEXT NOT NULL,
    email_verified_at TIMESTAMPTZ,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    CHECK (email_verified_at IS NULL OR client_id IS NOT NULL)
);
CREATE UNIQUE INDEX customer_accounts_email_key ON customer_accounts (lower(email));

-- A session is a staff user's or a customer account's.
ALTER TABLE sessions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN account_id UUID REFERENCES customer_accounts (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_one_person CHECK (num_nonnulls(user_id, account_id) = 1);
CREATE INDEX sessions_account_id_idx ON sessions (account_id, id);
ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN ('sign_out', 'ended_by_user',
    'refresh_reuse', 'password_changed', 'user_disabled', 'role_changed', 'password_reset', 'expired'));

-- Single-use links mailed to a customer (verify the email, reset the password): only the SHA-256
-- of the token is kept; a used or expired one never works again.
CREATE TABLE email_tokens (
    hash       BYTEA PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES customer_accounts (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX email_tokens_account_id_idx ON email_tokens (account_id, purpose);

-- The audit log names the customer behind a store session's requests.
ALTER TABLE audit_log ADD COLUMN account_id UUID;
CREATE INDEX audit_log_account_id_idx ON audit_log (account_id, id);
