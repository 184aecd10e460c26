-- A webhook endpoint belongs to the API key that created it: other keys (but admins) neither
-- see nor change it. Endpoints made before this (or whose key is deleted) have no owner: only
-- admins manage them.
ALTER TABLE webhook_endpoints ADD COLUMN owner_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL;
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_key_id, id);
