-- Reports: daily rollups, and the record of changes that make a rolled-up day stale.
--
-- A day (UTC) is rolled up once it is over. A change to rows of a day that is already over — an
-- order cancelled or backdated, a client deleted — is noted in `report_changes` by the triggers
-- below, in the same transaction as the change, whatever code path made it. Reports take a rolled-up
-- day only when no change is noted for it and compute every other day (today, noted days, days
-- not yet rolled up) from the base tables, all in one snapshot: they are exact at every moment.
-- The rollup job recomputes noted days and deletes exactly the notes it saw (by id), so a change
-- committed while it ran keeps its note.

CREATE TABLE report_changes (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day  DATE NOT NULL
);
CREATE INDEX report_changes_day_idx ON report_changes (day);

-- One row per rolled-up day, zeros included (a row says "this day is rolled up").
CREATE TABLE daily_sales (
    day              DATE PRIMARY KEY,
    -- Orders placed that day and not cancelled; their line items (units) and totals.
    orders           INTEGER NOT NULL,
    items            INTEGER NOT NULL,
    gross            NUMERIC(14, 2) NOT NULL,
    -- Succeeded refunds of order payments, by the day they completed.
    refunds          NUMERIC(14, 2) NOT NULL,
    cancelled_orders INTEGER NOT NULL,
    rolled_up_at     TIMESTAMPTZ NOT NULL
);

-- Notes the UTC days of changed rows that are already over. Today is left out: reports always
-- compute it from the base tables, and noting every order placed would add a write to each. A
-- transaction that began before midnight may still write yesterday's rows unnoted; the rollup job
-- does not roll up a day while such a transaction runs. Static SQL, so the plans are cached.
CREATE FUNCTION note_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < (now() AT TIME ZONE 'UTC')::date;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (created_at AT TIME ZONE 'UTC')::date < (now() AT TIME ZONE 'UTC')::date;
    ELSE
        -- Only what the figures depend on: cancelled or not, the total, the day.
        INSERT INTO report_changes (day)
        SELECT DISTINCT d FROM (
            SELECT (o.created_at AT TIME ZONE 'UTC')::date AS o_day, (n.created_at AT TIME ZONE 'UTC')::date AS n_day
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.status = 'cancelled') <> (n.status = 'cancelled') OR o.total <> n.total
               OR o.created_at <> n.created_at
        ) changed, LATERAL (VALUES (o_day), (n_day)) days (d)
        WHERE d < (now() AT TIME ZONE 'UTC')::date;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION note_refund_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM new_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < (now() AT TIME ZONE 'UTC')::date;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_changes (day)
        SELECT DISTINCT (completed_at AT TIME ZONE 'UTC')::date FROM old_rows
        WHERE (completed_at AT TIME ZONE 'UTC')::date < (now() AT TIME ZONE 'UTC')::date;
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

-- Refunds by the day they completed, for the days reports compute from the base tables.
CREATE INDEX refunds_succeeded_completed_at_idx ON refunds (completed_at) WHERE status = 'succeeded';
