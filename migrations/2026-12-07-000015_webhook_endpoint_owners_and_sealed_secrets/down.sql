ALTER TABLE webhook_endpoints
    DROP CONSTRAINT webhook_endpoints_previous_secret_check,
    DROP COLUMN previous_secret_until,
    DROP COLUMN previous_secret;
DROP INDEX webhook_endpoints_owner;
ALTER TABLE webhook_endpoints DROP COLUMN owner_key_id;
