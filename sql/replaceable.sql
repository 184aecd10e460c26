-- Functions and triggers: the one live definition of each.
--
-- `hybrid-crm migrate` (and `serve` at start) runs this file after the migrations, in one
-- transaction, whenever a migration ran or the file changed: `DROP SCHEMA r CASCADE` (which also
-- drops the triggers that call its functions), `CREATE SCHEMA r`, then what follows. So a
-- function is changed here, never by a migration, and one that is removed from here is gone.
-- Migrations run with schema `r` dropped, so they may alter the tables these read. Tables stay
-- in the public schema; everything here is created in `r` and called as `r.name`.

-- A client's activity for its view, as JSON text: order count, total spent (orders not
-- cancelled), what orders owe (refunds credit it), what payments took net of refunds, the newest
-- order, and live enrollments that are upcoming (after p_now) or unpaid. A PL/pgSQL function keeps
-- a generic plan per connection, where the same statement sent as text would be planned on every
-- call.
CREATE FUNCTION r.client_activity(p_id uuid, p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN json_build_object(
        'order_count', (SELECT count(*) FROM orders WHERE client_id = p_id),
        'total_spent', (SELECT coalesce(sum(total), 0)::text FROM orders
                         WHERE client_id = p_id AND status NOT IN ('cancelled', 'refunded')),
        'orders_owed', (SELECT coalesce(sum(total - amount_refunded - amount_paid), 0)::text FROM orders
                         WHERE client_id = p_id AND status NOT IN ('cancelled', 'refunded')),
        'total_paid', (SELECT coalesce(sum(amount - amount_refunded), 0)::text FROM payments
                        WHERE client_id = p_id AND status IN ('succeeded', 'refunded')),
        'last_order', (SELECT json_build_object('id', lo.id, 'status', lo.status, 'total', lo.total::text,
                                                'created_at', lo.created_at)
                         FROM orders lo WHERE lo.client_id = p_id ORDER BY lo.id DESC LIMIT 1),
        'open_enrollments', (SELECT coalesce(json_agg(json_build_object(
                                        'enrollment_id', e.id, 'workshop_id', w.id, 'workshop_name', w.name,
                                        'starts_at', w.starts_at, 'status', e.status, 'price', e.price::text,
                                        'settled', (e.amount_paid + e.amount_refunded)::text)
                                    ORDER BY w.starts_at, e.id), '[]'::json)
                               FROM enrollments e JOIN workshops w ON w.id = e.workshop_id
                              WHERE e.client_id = p_id AND e.status <> 'cancelled'
                                AND (w.starts_at > p_now OR e.status <> 'paid'))
    )::text;
END
$$;

-- The complete client view's PostgreSQL part as JSON text: the client, its company, its
-- interests by name and, for clients with orders or enrollments, their summary. One statement,
-- so one snapshot: a STABLE function's queries (client_activity's included) all see the
-- calling statement's snapshot. NULL when the client does not exist.
CREATE FUNCTION r.client_view(p_id uuid, p_now timestamptz) RETURNS text
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
        'activity', CASE WHEN c.has_activity THEN r.client_activity(p_id, p_now)::json END
    )::text;
END
$$;

-- Whether an event type matches a list of patterns: `*`, an exact type, or `family.*`.
CREATE FUNCTION r.event_type_matches(patterns TEXT[], event_type TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(patterns) AS p
        WHERE p = '*' OR p = event_type OR (right(p, 2) = '.*' AND starts_with(event_type, left(p, -1)))
    )
$$;

-- The client's kind and plan when the order was placed: revenue by plan and kind is history,
-- unchanged when a client changes plan later. Set by a trigger, so every insert path has them.
CREATE FUNCTION r.order_client_segment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT kind, plan INTO NEW.client_kind, NEW.client_plan FROM clients WHERE id = NEW.client_id;
    IF NOT FOUND THEN
        -- What the foreign key would say, which callers already understand (`unknown_client`).
        RAISE EXCEPTION 'insert or update on table "orders" violates foreign key constraint "orders_client_id_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'orders_client_id_fkey', TABLE = 'orders';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_client_segment BEFORE INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION r.order_client_segment();

-- Notes the UTC days of changed rows that are already over. Today is left out: reports always
-- compute it from the base tables, and noting every order placed would add a write to each. A
-- transaction that began before midnight may still write yesterday's rows unnoted; the rollup job
-- does not roll up a day while such a transaction runs. Static SQL, so the plans are cached.

-- An order also moves its client's first purchase: the days of the client's two earliest orders
-- not cancelled (after the change) are noted with the order's own days — that covers a first
-- order cancelled (the second becomes first) and an order inserted before the first (the first
-- becomes second).
CREATE FUNCTION r.note_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        WITH changed AS (
            SELECT (created_at AT TIME ZONE 'UTC')::date AS day, client_id FROM new_rows
            WHERE (created_at AT TIME ZONE 'UTC')::date < today
        )
        SELECT DISTINCT day FROM (
            SELECT day FROM changed
            UNION ALL
            SELECT (first.created_at AT TIME ZONE 'UTC')::date
            FROM (SELECT DISTINCT client_id FROM changed) c
            CROSS JOIN LATERAL (
                SELECT created_at FROM orders o
                WHERE o.client_id = c.client_id AND o.status <> 'cancelled'
                ORDER BY o.created_at LIMIT 2
            ) first
        ) noted
        WHERE day < today;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        WITH changed AS (
            SELECT (created_at AT TIME ZONE 'UTC')::date AS day, client_id FROM old_rows
            WHERE (created_at AT TIME ZONE 'UTC')::date < today
        )
        SELECT DISTINCT day FROM (
            SELECT day FROM changed
            UNION ALL
            SELECT (first.created_at AT TIME ZONE 'UTC')::date
            FROM (SELECT DISTINCT client_id FROM changed) c
            CROSS JOIN LATERAL (
                SELECT created_at FROM orders o
                WHERE o.client_id = c.client_id AND o.status <> 'cancelled'
                ORDER BY o.created_at LIMIT 2
            ) first
        ) noted
        WHERE day < today;
    ELSE
        -- Only what the figures depend on: cancelled or not, the total, the day, the client.
        INSERT INTO report_changes (day)
        WITH changed AS (
            SELECT d AS day, client AS client_id FROM (
                SELECT o.created_at AS o_at, n.created_at AS n_at, o.client_id AS o_client, n.client_id AS n_client
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.status = 'cancelled') <> (n.status = 'cancelled') OR o.total <> n.total
                   OR o.created_at <> n.created_at OR o.client_id <> n.client_id
            ) moved,
            LATERAL (VALUES ((o_at AT TIME ZONE 'UTC')::date, o_client), ((n_at AT TIME ZONE 'UTC')::date, n_client)) days (d, client)
            WHERE d < today
        )
        SELECT DISTINCT day FROM (
            SELECT day FROM changed
            UNION ALL
            SELECT (first.created_at AT TIME ZONE 'UTC')::date
            FROM (SELECT DISTINCT client_id FROM changed) c
            CROSS JOIN LATERAL (
                SELECT created_at FROM orders o
                WHERE o.client_id = c.client_id AND o.status <> 'cancelled'
                ORDER BY o.created_at LIMIT 2
            ) first
        ) noted
        WHERE day < today;
    END IF;
    RETURN NULL;
END $$;

-- The other tables note the days of one timestamp column each; updates only when it changes or
-- when what the figures read of the row does.
CREATE FUNCTION r.note_refund_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < today;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < today;
    ELSE
        INSERT INTO report_changes (day)
        SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id,
            LATERAL (VALUES ((o.completed_at AT TIME ZONE 'UTC')::date), ((n.completed_at AT TIME ZONE 'UTC')::date)) days (d)
        WHERE (o.completed_at IS DISTINCT FROM n.completed_at OR o.status <> n.status OR o.amount <> n.amount)
          AND d < today;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION r.note_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < today;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < today;
    ELSE
        -- A refund marks its payment `refunded`: still a payment taken, nothing to note.
        INSERT INTO report_changes (day)
        SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id,
            LATERAL (VALUES ((o.completed_at AT TIME ZONE 'UTC')::date), ((n.completed_at AT TIME ZONE 'UTC')::date)) days (d)
        WHERE (o.completed_at IS DISTINCT FROM n.completed_at OR o.method <> n.method OR o.amount <> n.amount
               OR (o.status IN ('succeeded', 'refunded')) <> (n.status IN ('succeeded', 'refunded')))
          AND d < today;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION r.note_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < today;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < today;
    ELSE
        INSERT INTO report_changes (day)
        SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id,
            LATERAL (VALUES ((o.created_at AT TIME ZONE 'UTC')::date), ((n.created_at AT TIME ZONE 'UTC')::date)) days (d)
        WHERE o.created_at <> n.created_at AND d < today;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_inserted_report AFTER INSERT ON orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_order_change();
CREATE TRIGGER orders_updated_report AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_order_change();
CREATE TRIGGER orders_deleted_report AFTER DELETE ON orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_order_change();
CREATE TRIGGER refunds_inserted_report AFTER INSERT ON refunds
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_refund_change();
CREATE TRIGGER refunds_updated_report AFTER UPDATE ON refunds
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_refund_change();
CREATE TRIGGER refunds_deleted_report AFTER DELETE ON refunds
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_refund_change();
CREATE TRIGGER payments_inserted_report AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_payment_change();
CREATE TRIGGER payments_updated_report AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_payment_change();
CREATE TRIGGER payments_deleted_report AFTER DELETE ON payments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_payment_change();
CREATE TRIGGER clients_inserted_report AFTER INSERT ON clients
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_client_change();
CREATE TRIGGER clients_updated_report AFTER UPDATE ON clients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_client_change();
CREATE TRIGGER clients_deleted_report AFTER DELETE ON clients
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_client_change();

-- Notes the days (already over) of enrollments made, deleted, moved, or cancelled and restored.
CREATE FUNCTION r.note_enrollment_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < today;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < today;
    ELSE
        INSERT INTO report_changes (day)
        SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id,
            LATERAL (VALUES ((o.created_at AT TIME ZONE 'UTC')::date), ((n.created_at AT TIME ZONE 'UTC')::date)) days (d)
        WHERE ((o.status = 'cancelled') <> (n.status = 'cancelled') OR o.created_at <> n.created_at
               OR o.workshop_id <> n.workshop_id)
          AND d < today;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER enrollments_inserted_report AFTER INSERT ON enrollments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_enrollment_change();
CREATE TRIGGER enrollments_updated_report AFTER UPDATE ON enrollments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_enrollment_change();
CREATE TRIGGER enrollments_deleted_report AFTER DELETE ON enrollments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION r.note_enrollment_change();

-- A resource's version is its `ETag`: bumped here on every update of the row, so no write path
-- (a PATCH, stock taken by an order, a coupon redeemed, a payment on an order) can leave a stale
-- tag. (Every update of these rows changes at least `updated_at` or a counter, so none is a
-- no-op that would move the tag for nothing; a WHEN clause could not compare whole rows anyway,
-- as some tables have generated columns.)
CREATE FUNCTION r.next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER categories_version BEFORE UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
-- `has_activity` is bookkeeping (a first order or enrollment sets it, in a statement of its own)
-- that no representation shows, so setting it keeps the client's tag.
CREATE TRIGGER clients_version BEFORE UPDATE ON clients
    FOR EACH ROW WHEN (OLD.has_activity = NEW.has_activity) EXECUTE FUNCTION r.next_version();
CREATE TRIGGER companies_version BEFORE UPDATE ON companies
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER coupons_version BEFORE UPDATE ON coupons
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER interests_version BEFORE UPDATE ON interests
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER orders_version BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER products_version BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER webhook_endpoints_version BEFORE UPDATE ON webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER workshops_version BEFORE UPDATE ON workshops
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER users_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
CREATE TRIGGER customer_accounts_version BEFORE UPDATE ON customer_accounts
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
-- A cart's lines are rows of their own: each change of them touches the cart, moving its tag.
CREATE TRIGGER carts_version BEFORE UPDATE ON carts
    FOR EACH ROW EXECUTE FUNCTION r.next_version();
