-- Publishable keys (`hcrm_pk_…`): a storefront's key, shipped inside its pages, that reads the
-- public catalog and nothing else. It holds no scope and names the browser origins that may use it.
ALTER TABLE api_keys
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret',
    ADD COLUMN allowed_origins TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (
    (kind = 'secret' AND cardinality(allowed_origins) = 0)
    OR (kind = 'publishable' AND role = 'custom' AND cardinality(scopes) = 0
        AND cardinality(allowed_origins) BETWEEN 1 AND 16)
);
