ALTER TABLE categories DROP COLUMN version;
ALTER TABLE products DROP COLUMN version;
ALTER TABLE companies DROP COLUMN version;
ALTER TABLE coupons DROP COLUMN version;
ALTER TABLE interests DROP COLUMN version;
ALTER TABLE webhook_endpoints DROP COLUMN version;
ALTER TABLE workshops DROP COLUMN version;
