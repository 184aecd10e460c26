-- Text search that stays fast at a million rows, the client view in one statement, and the
-- reports background jobs leave for every replica to read.

-- Text search (`q`) matches a substring of a few columns, ignoring case. Each searchable table
-- keeps those columns lowercased in one generated column, joined by a unit separator (a
-- control character searches cannot hold, so no match spans two columns): `LIKE` on it is three
-- to four times cheaper per row than `ILIKE` on each column, and one trigram index serves any
-- text of three characters or more, where a b-tree cannot help and every row would be read.
-- Large statistics targets let the planner tell rare texts (the trigram index) from common
-- ones (walking the sort order and stopping at a page's worth of matches).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE clients ADD COLUMN search_text TEXT NOT NULL
    GENERATED ALWAYS AS (lower(name) || chr(31) || lower(email)) STORED;
CREATE INDEX clients_search_trgm_idx ON clients USING gin (search_text gin_trgm_ops);
ALTER TABLE clients ALTER COLUMN search_text SET STATISTICS 1000;
ALTER TABLE products ADD COLUMN search_text TEXT NOT NULL
    GENERATED ALWAYS AS (lower(name) || chr(31) || slug || chr(31) || lower(coalesce(description, ''))) STORED;
CREATE INDEX products_search_trgm_idx ON products USING gin (search_text gin_trgm_ops);
ALTER TABLE products ALTER COLUMN search_text SET STATISTICS 1000;
ALTER TABLE workshops ADD COLUMN search_text TEXT NOT NULL
    GENERATED ALWAYS AS (lower(name) || chr(31) || lower(coalesce(description, ''))) STORED;
CREATE INDEX workshops_search_trgm_idx ON workshops USING gin (search_text gin_trgm_ops);
ALTER TABLE workshops ALTER COLUMN search_text SET STATISTICS 1000;
CREATE INDEX products_price_id_idx ON products (price, id);

-- The complete client view's PostgreSQL part as JSON text: the client, its company, its
-- interests by name and, for clients with orders or enrollments, their summary. One statement,
-- so one snapshot: a STABLE function's queries (client_activity's included) all see the
-- calling statement's snapshot. NULL when the client does not exist.
CREATE FUNCTION client_view(p_id uuid, p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    c clients%ROWTYPE;
BEGIN
    SELECT * INTO c FROM clients WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN json_build_object(
        'client', row_to_json(c),
        'company', (SELECT row_to_json(co) FROM companies co WHERE co.id = c.company_id),
        'interests', (SELECT coalesce(json_agg(row_to_json(i) ORDER BY i.name, i.id), '[]'::json)
                        FROM client_interests ci JOIN interests i ON i.id = ci.interest_id
                       WHERE ci.client_id = p_id),
        'activity', CASE WHEN c.has_activity THEN client_activity(p_id, p_now)::json END
    )::text;
END
$$;

-- The latest report of each background job (reconcile, client statistics), as JSON text.
CREATE TABLE job_reports (
    job         TEXT PRIMARY KEY,
    finished_at TIMESTAMPTZ NOT NULL,
    report      TEXT NOT NULL
);
