DROP INDEX audit_log_account_id_idx;
ALTER TABLE audit_log DROP COLUMN account_id;
DROP TABLE email_tokens;
DELETE FROM sessions WHERE account_id IS NOT NULL;
ALTER TABLE sessions DROP CONSTRAINT sessions_end_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_reason_check CHECK (end_reason IN ('sign_out', 'ended_by_user',
    'refresh_reuse', 'password_changed', 'user_disabled', 'role_changed', 'expired'));
DROP INDEX sessions_account_id_idx;
ALTER TABLE sessions DROP CONSTRAINT sessions_one_person;
ALTER TABLE sessions DROP COLUMN account_id;
ALTER TABLE sessions ALTER COLUMN user_id SET NOT NULL;
DROP TABLE customer_accounts;
