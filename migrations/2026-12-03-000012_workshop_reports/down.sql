DROP TRIGGER enrollments_deleted_report ON enrollments;
DROP TRIGGER enrollments_updated_report ON enrollments;
DROP TRIGGER enrollments_inserted_report ON enrollments;
DROP FUNCTION note_enrollment_change();
DROP INDEX payments_enrollment_completed_at_idx;
DROP INDEX enrollments_workshop_id_idx;
DROP TABLE daily_workshop_sales;
