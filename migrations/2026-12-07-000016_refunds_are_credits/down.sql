ALTER TABLE enrollments DROP CONSTRAINT enrollments_status_matches_payment;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_paid_within_price;
UPDATE enrollments SET status = 'partially_paid' WHERE status = 'paid' AND amount_paid < price AND amount_paid > 0;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_paid_within_price CHECK (amount_paid >= 0 AND amount_paid <= price);
ALTER TABLE enrollments ADD CONSTRAINT enrollments_status_matches_payment CHECK (
    status = 'cancelled'
    OR (status = 'pending_payment' AND amount_paid = 0)
    OR (status = 'partially_paid' AND amount_paid > 0 AND amount_paid < price)
    OR (status = 'paid' AND amount_paid = price));
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_paid_within_amount;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_paid_within_amount CHECK (amount_paid >= 0 AND amount_paid <= amount);
ALTER TABLE orders DROP CONSTRAINT orders_paid_within_total;
ALTER TABLE orders ADD CONSTRAINT orders_paid_within_total CHECK (amount_paid >= 0 AND amount_paid <= total);
ALTER TABLE subscriptions DROP COLUMN amount_refunded;
ALTER TABLE enrollments DROP COLUMN amount_refunded;
ALTER TABLE orders DROP COLUMN amount_refunded;
