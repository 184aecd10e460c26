-- Reports: daily rollups, and the record of changes that make a rolled-up day stale.
--
-- A day (UTC) is rolled up once it is over. A change to rows of a day that is already over — an
-- order cancelled or backdated, a refund, a client deleted — is noted in `report_changes` by the
-- triggers below, in the same transaction as the change, whatever code path made it. Reports take
-- a rolled-up day only when no change is noted for it and compute every other day (today, noted
-- days, days not yet rolled up) from the base tables, all in one snapshot: they are exact at
-- every moment. The rollup job recomputes noted days and deletes exactly the notes it saw, so a
-- change committed while it ran keeps its note.

CREATE TABLE report_changes (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day  DATE NOT NULL
);
CREATE INDEX report_changes_day_idx ON report_changes (day);

-- A dense number per client: the per-day client lists of the rollups are arrays of these (four
-- bytes each, and a report unions a year of them by indexing, not hashing).
ALTER TABLE clients ADD COLUMN number INTEGER GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX clients_number_key ON clients (number);

-- The client's kind and plan when the order was placed: revenue by plan and kind is history,
-- unchanged when a client changes plan later. Set by a trigger, so every insert path has them.
ALTER TABLE orders ADD COLUMN client_kind TEXT, ADD COLUMN client_plan TEXT;
UPDATE orders o SET client_kind = c.kind, client_plan = c.plan FROM clients c WHERE c.id = o.client_id;
ALTER TABLE orders ALTER COLUMN client_kind SET NOT NULL, ALTER COLUMN client_plan SET NOT NULL;

CREATE FUNCTION order_client_segment() RETURNS trigger LANGUAGE plpgsql AS $$
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
    FOR EACH ROW EXECUTE FUNCTION order_client_segment();

-- One row per rolled-up day, zeros included (a row says "this day is rolled up").
CREATE TABLE daily_sales (
    day               DATE PRIMARY KEY,
    -- Orders placed that day and not cancelled; their line items (units) and totals.
    orders            INTEGER NOT NULL,
    items             INTEGER NOT NULL,
    gross             NUMERIC(14, 2) NOT NULL,
    -- Succeeded refunds of order payments, by the day they completed.
    refunds           NUMERIC(14, 2) NOT NULL,
    cancelled_orders  INTEGER NOT NULL,
    -- Clients created that day.
    new_clients       INTEGER NOT NULL,
    -- Clients whose first order not cancelled was placed that day.
    first_time_buyers INTEGER NOT NULL,
    rolled_up_at      TIMESTAMPTZ NOT NULL
);

-- Who bought on a rolled-up day: one entry per order not cancelled, sorted by client number,
-- with the order's total in cents (a day without orders has empty arrays).
CREATE TABLE daily_client_orders (
    day            DATE PRIMARY KEY REFERENCES daily_sales (day) ON DELETE CASCADE,
    client_numbers INTEGER[] NOT NULL,
    order_cents    BIGINT[] NOT NULL,
    CONSTRAINT daily_client_orders_aligned CHECK (cardinality(client_numbers) = cardinality(order_cents))
);

-- Sales of a rolled-up day by the client's kind and plan at the time of the order (only the
-- combinations with sales or refunds).
CREATE TABLE daily_segment_sales (
    day         DATE NOT NULL REFERENCES daily_sales (day) ON DELETE CASCADE,
    client_kind TEXT NOT NULL,
    client_plan TEXT NOT NULL,
    orders      INTEGER NOT NULL,
    gross       NUMERIC(14, 2) NOT NULL,
    refunds     NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (day, client_kind, client_plan)
);

-- Units and line totals (prices as sold, before order-level coupon discounts) per product of a
-- rolled-up day, orders not cancelled.
CREATE TABLE daily_product_sales (
    day        DATE NOT NULL REFERENCES daily_sales (day) ON DELETE CASCADE,
    product_id UUID NOT NULL,
    units      INTEGER NOT NULL,
    revenue    NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (day, product_id)
);

-- Succeeded payments (of every subject; refunded later or not) by method, on the day they completed.
CREATE TABLE daily_payment_methods (
    day      DATE NOT NULL REFERENCES daily_sales (day) ON DELETE CASCADE,
    method   TEXT NOT NULL,
    payments INTEGER NOT NULL,
    amount   NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (day, method)
);

-- Notes the UTC days of changed rows that are already over. Today is left out: reports always
-- compute it from the base tables, and noting every order placed would add a write to each. A
-- transaction that began before midnight may still write yesterday's rows unnoted; the rollup job
-- does not roll up a day while such a transaction runs. Static SQL, so the plans are cached.

-- An order also moves its client's first purchase: the days of the client's two earliest orders
-- not cancelled (after the change) are noted with the order's own days — that covers a first
-- order cancelled (the second becomes first) and an order inserted before the first (the first
-- becomes second).
CREATE FUNCTION note_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE FUNCTION note_refund_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION note_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION note_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_order_change();
CREATE TRIGGER orders_updated_report AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_order_change();
CREATE TRIGGER orders_deleted_report AFTER DELETE ON orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_order_change();
CREATE TRIGGER refunds_inserted_report AFTER INSERT ON refunds
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_refund_change();
CREATE TRIGGER refunds_updated_report AFTER UPDATE ON refunds
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_refund_change();
CREATE TRIGGER refunds_deleted_report AFTER DELETE ON refunds
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_refund_change();
CREATE TRIGGER payments_inserted_report AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_payment_change();
CREATE TRIGGER payments_updated_report AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_payment_change();
CREATE TRIGGER payments_deleted_report AFTER DELETE ON payments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_payment_change();
CREATE TRIGGER clients_inserted_report AFTER INSERT ON clients
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_client_change();
CREATE TRIGGER clients_updated_report AFTER UPDATE ON clients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_client_change();
CREATE TRIGGER clients_deleted_report AFTER DELETE ON clients
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_client_change();

-- The days reports compute from the base tables are found by these.
CREATE INDEX refunds_succeeded_completed_at_idx ON refunds (completed_at) WHERE status = 'succeeded';
CREATE INDEX payments_completed_at_idx ON payments (completed_at) WHERE completed_at IS NOT NULL;
