-- Functions and triggers move to schema `r`, defined once in `sql/replaceable.sql`, which the
-- migration runner re-applies after migrations (see that file). Here the earlier definitions go;
-- dropping a function drops the triggers that call it.
DROP FUNCTION client_view(uuid, timestamptz);
DROP FUNCTION client_activity(uuid, timestamptz);
DROP FUNCTION event_type_matches(TEXT[], TEXT);
DROP FUNCTION order_client_segment() CASCADE;
DROP FUNCTION note_order_change() CASCADE;
DROP FUNCTION note_refund_change() CASCADE;
DROP FUNCTION note_payment_change() CASCADE;
DROP FUNCTION note_client_change() CASCADE;
DROP FUNCTION note_enrollment_change() CASCADE;
