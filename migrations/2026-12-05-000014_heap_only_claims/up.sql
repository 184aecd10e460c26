-- Claiming a webhook delivery or a notification (status to `delivering`/`sending`, a lease)
-- rewrote the row with a new entry in every index of the table, because the partial indexes of
-- open rows named `status` in their predicates. They now name when the row was finished, which
-- a claim does not change, and the tables keep room on each page, so a claim is a heap-only
-- (HOT) update: the new row version stays on its page and no index is touched. The update that
-- finishes a row still rewrites its index entries, as it must leave the open indexes.

UPDATE webhook_deliveries SET completed_at = updated_at
 WHERE status IN ('succeeded', 'failed') AND completed_at IS NULL;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_completed_check
    CHECK ((completed_at IS NULL) = (status IN ('pending', 'delivering')));
DROP INDEX webhook_deliveries_open;
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (endpoint_id, sequence) WHERE completed_at IS NULL;
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE completed_at IS NULL;
ALTER TABLE webhook_deliveries SET (fillfactor = 70);

-- When a notification reached `sent`, `skipped` or `failed` (NULL while pending or sending).
-- No CHECK ties it to `status`: a replica of the previous version, still running during a
-- rolling upgrade, finishes notifications without it (they stay in the index below, but the
-- claim still filters on `status` too, so they are never claimed again).
ALTER TABLE notifications ADD COLUMN finished_at TIMESTAMPTZ;
UPDATE notifications SET finished_at = updated_at WHERE status NOT IN ('pending', 'sending');
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE finished_at IS NULL;
ALTER TABLE notifications SET (fillfactor = 70);
