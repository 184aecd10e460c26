ALTER TABLE notifications RESET (fillfactor);
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
ALTER TABLE notifications DROP COLUMN finished_at;

ALTER TABLE webhook_deliveries RESET (fillfactor);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_completed_check;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'delivering');
DROP INDEX webhook_deliveries_open;
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (endpoint_id, sequence)
    WHERE status IN ('pending', 'delivering');
