DELETE FROM idempotency_keys WHERE char_length(key) > 255;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_key_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 255);
DROP TABLE audit_log;
DROP TABLE api_keys;
