-- Text search that stays fast at a million rows, the client view in one statement, and the
-- reports background jobs leave for every replica to read.

-- `ILIKE '%text%'` can use a trigram index for any text of three characters or more, where a
-- b-tree cannot help and every row would be read.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX clients_name_trgm_idx ON clients USING gin (name gin_trgm_ops);
CREATE INDEX clients_email_trgm_idx ON clients USING gin (email gin_trgm_ops);
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
CREATE INDEX products_slug_trgm_idx ON products USING gin (slug gin_trgm_ops);
CREATE INDEX products_description_trgm_idx ON products USING gin (description gin_trgm_ops);
CREATE INDEX workshops_name_trgm_idx ON workshops USING gin (name gin_trgm_ops);
CREATE INDEX workshops_description_trgm_idx ON workshops USING gin (description gin_trgm_ops);
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
