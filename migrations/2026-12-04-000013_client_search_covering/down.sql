CREATE INDEX clients_created_at_id_idx ON clients (created_at, id);
DROP INDEX clients_created_at_id_search_idx;
CREATE INDEX clients_name_id_idx ON clients (name, id);
DROP INDEX clients_name_id_search_idx;
