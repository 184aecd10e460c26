-- Workshop reports: money taken for enrollments and enrollments made, per workshop and UTC day,
-- rolled up with the other daily figures (see the migration `reports` for how a rolled-up day
-- stays exact). Payments and refunds already note their days; enrollments note theirs here.

-- Per rolled-up day and workshop (only the workshops with figures that day): enrollments made
-- that day and not cancelled; succeeded enrollment payments completed that day (refunded later or
-- not); succeeded refunds of enrollment payments completed that day.
CREATE TABLE daily_workshop_sales (
    day         DATE NOT NULL REFERENCES daily_sales (day) ON DELETE CASCADE,
    workshop_id UUID NOT NULL,
    enrollments INTEGER NOT NULL,
    received    NUMERIC(14, 2) NOT NULL,
    refunded    NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (day, workshop_id)
);

-- A workshop's enrollments, cancelled ones included (their payments count as income until refunded).
CREATE INDEX enrollments_workshop_id_idx ON enrollments (workshop_id);
-- A day's enrollment payments: a few among the order payments of the same day.
CREATE INDEX payments_enrollment_completed_at_idx ON payments (completed_at)
    WHERE subject_type = 'enrollment' AND completed_at IS NOT NULL;

-- Notes the days (already over) of enrollments made, deleted, moved, or cancelled and restored.
CREATE FUNCTION note_enrollment_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_enrollment_change();
CREATE TRIGGER enrollments_updated_report AFTER UPDATE ON enrollments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_enrollment_change();
CREATE TRIGGER enrollments_deleted_report AFTER DELETE ON enrollments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_enrollment_change();

-- Days already rolled up get their workshop rows on the next run.
INSERT INTO report_changes (day) SELECT day FROM daily_sales;
