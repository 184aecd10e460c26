-- The complete client view summarizes each client's orders and enrollments. Most clients have
-- neither, so `has_activity` (set by the first order or enrollment, in its transaction) lets the
-- view skip the summary for them; `client_activity` computes it in one call for the others.
ALTER TABLE clients ADD COLUMN has_activity BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients c SET has_activity = TRUE
 WHERE EXISTS (SELECT 1 FROM orders o WHERE o.client_id = c.id)
    OR EXISTS (SELECT 1 FROM enrollments e WHERE e.client_id = c.id);

-- Order count, total spent (orders not cancelled), newest order, and live enrollments that are
-- upcoming (after p_now) or unpaid, as JSON text. A PL/pgSQL function keeps a generic plan per
-- connection, where the same statement sent as text would be planned on every call.
CREATE FUNCTION client_activity(p_id uuid, p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN json_build_object(
        'order_count', (SELECT count(*) FROM orders WHERE client_id = p_id),
        'total_spent', (SELECT coalesce(sum(total), 0)::text FROM orders
                         WHERE client_id = p_id AND status <> 'cancelled'),
        'last_order', (SELECT json_build_object('id', lo.id, 'status', lo.status, 'total', lo.total::text,
                                                'created_at', lo.created_at)
                         FROM orders lo WHERE lo.client_id = p_id ORDER BY lo.id DESC LIMIT 1),
        'open_enrollments', (SELECT coalesce(json_agg(json_build_object(
                                        'enrollment_id', e.id, 'workshop_id', w.id, 'workshop_name', w.name,
                                        'starts_at', w.starts_at, 'status', e.status, 'price', e.price::text,
                                        'amount_paid', e.amount_paid::text)
                                    ORDER BY w.starts_at, e.id), '[]'::json)
                               FROM enrollments e JOIN workshops w ON w.id = e.workshop_id
                              WHERE e.client_id = p_id AND e.status <> 'cancelled'
                                AND (w.starts_at > p_now OR e.status <> 'paid'))
    )::text;
END
$$;
