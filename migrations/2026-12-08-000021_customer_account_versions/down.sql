ALTER TABLE customer_accounts DROP COLUMN version;
