-- Every mutable resource carries a version, its `ETag` for `If-Match`; `r.next_version` (in
-- sql/replaceable.sql) bumps it on every update that changes the row.
ALTER TABLE categories ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE products ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE companies ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE coupons ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE interests ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE webhook_endpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE workshops ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
