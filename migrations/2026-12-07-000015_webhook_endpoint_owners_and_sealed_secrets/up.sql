-- A webhook endpoint belongs to the API key that created it: other keys (but admins) neither
-- see nor change it. Endpoints made before this (or whose key is deleted) have no owner: only
-- admins manage them.
ALTER TABLE webhook_endpoints ADD COLUMN owner_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL;
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_key_id, id);

-- Signing secrets are sealed (AES-256-GCM, `sealed:v1:…`); rows written before hold them in clear
-- until the server reseals them at start. A rotated-out secret keeps signing, beside the new
-- one, until `previous_secret_until`.
ALTER TABLE webhook_endpoints
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_until timestamptz,
    ADD CONSTRAINT webhook_endpoints_previous_secret_check
        CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL));
