DROP INDEX webhook_endpoints_owner_user;
ALTER TABLE webhook_endpoints DROP COLUMN owner_user_id;
DROP INDEX audit_log_user_id_idx;
ALTER TABLE audit_log DROP COLUMN user_id;
DROP TABLE sign_in_failures;
DROP TABLE access_tokens;
DROP TABLE used_refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
