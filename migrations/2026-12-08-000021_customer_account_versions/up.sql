-- Staff disable and enable customer accounts with If-Match: the account gets a version (bumped
-- by r.next_version, sql/replaceable.sql), as every mutable resource has.
ALTER TABLE customer_accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
