DROP TABLE IF EXISTS job_reports;
DROP FUNCTION IF EXISTS client_view(uuid, timestamptz);
DROP INDEX IF EXISTS products_price_id_idx;
ALTER TABLE workshops DROP COLUMN IF EXISTS search_text;
ALTER TABLE products DROP COLUMN IF EXISTS search_text;
ALTER TABLE clients DROP COLUMN IF EXISTS search_text;
