-- A refund is money going back, not a new debt: each subject keeps what was refunded of it beside
-- what was paid (net), and owes `total - amount_refunded - amount_paid`. Automatic refunds (a
-- payment the subject could no longer take) never reached the subject and do not count.
ALTER TABLE orders ADD COLUMN amount_refunded NUMERIC(14, 2) NOT NULL DEFAULT 0;
ALTER TABLE enrollments ADD COLUMN amount_refunded NUMERIC(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN amount_refunded NUMERIC(14, 2) NOT NULL DEFAULT 0;

UPDATE orders o SET amount_refunded = r.refunded
  FROM (SELECT p.order_id, sum(rf.amount) AS refunded
          FROM refunds rf JOIN payments p ON p.id = rf.payment_id
         WHERE rf.status = 'succeeded' AND NOT rf.automatic AND p.order_id IS NOT NULL
         GROUP BY p.order_id) r
 WHERE o.id = r.order_id;
UPDATE enrollments e SET amount_refunded = r.refunded
  FROM (SELECT p.enrollment_id, sum(rf.amount) AS refunded
          FROM refunds rf JOIN payments p ON p.id = rf.payment_id
         WHERE rf.status = 'succeeded' AND NOT rf.automatic AND p.enrollment_id IS NOT NULL
         GROUP BY p.enrollment_id) r
 WHERE e.id = r.enrollment_id;
UPDATE subscriptions s SET amount_refunded = r.refunded
  FROM (SELECT p.subscription_id, sum(rf.amount) AS refunded
          FROM refunds rf JOIN payments p ON p.id = rf.payment_id
         WHERE rf.status = 'succeeded' AND NOT rf.automatic AND p.subscription_id IS NOT NULL
         GROUP BY p.subscription_id) r
 WHERE s.id = r.subscription_id;

ALTER TABLE orders DROP CONSTRAINT orders_paid_within_total;
ALTER TABLE orders ADD CONSTRAINT orders_paid_within_total
    CHECK (amount_paid >= 0 AND amount_refunded >= 0 AND amount_paid + amount_refunded <= total);
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_paid_within_amount;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_paid_within_amount
    CHECK (amount_paid >= 0 AND amount_refunded >= 0 AND amount_paid + amount_refunded <= amount);
-- An enrollment is paid once nothing is owed, refunds included.
ALTER TABLE enrollments DROP CONSTRAINT enrollments_paid_within_price;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_status_matches_payment;
UPDATE enrollments SET status = 'paid'
 WHERE status = 'partially_paid' AND amount_paid + amount_refunded = price;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_paid_within_price
    CHECK (amount_paid >= 0 AND amount_refunded >= 0 AND amount_paid + amount_refunded <= price);
ALTER TABLE enrollments ADD CONSTRAINT enrollments_status_matches_payment CHECK (
    status = 'cancelled'
    OR (status = 'pending_payment' AND amount_paid = 0)
    OR (status = 'partially_paid' AND amount_paid > 0 AND amount_paid + amount_refunded < price)
    OR (status = 'paid' AND amount_paid + amount_refunded = price));

-- The client view's activity: orders owe what refunds did not credit.
CREATE OR REPLACE FUNCTION client_activity(p_id uuid, p_now timestamptz) RETURNS text
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
