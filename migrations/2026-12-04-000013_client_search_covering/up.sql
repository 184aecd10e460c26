-- A search that matches one client in a few hundred (`q=m mcc`) is found by walking the list's
-- sort order until a page's worth match. With `search_text` in the sort indexes, that walk
-- tests each entry in the index itself (an index-only scan) instead of fetching every walked
-- row from the table: 10-20 ms became 1-2 ms at a million clients (docs/BENCHMARKS.md). The
-- list then reads only the page's rows (store::pg::clients::list).
CREATE INDEX clients_created_at_id_search_idx ON clients (created_at, id) INCLUDE (search_text);
DROP INDEX clients_created_at_id_idx;
CREATE INDEX clients_name_id_search_idx ON clients (name, id) INCLUDE (search_text);
DROP INDEX clients_name_id_idx;
