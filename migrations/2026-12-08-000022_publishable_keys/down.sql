DELETE FROM api_keys WHERE kind = 'publishable';
ALTER TABLE api_keys DROP CONSTRAINT api_keys_kind_check;
ALTER TABLE api_keys DROP COLUMN allowed_origins, DROP COLUMN kind;
