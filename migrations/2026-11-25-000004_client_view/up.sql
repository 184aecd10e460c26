-- The PostgreSQL half of the complete client view in one call, as JSON text: the client, its
-- company and interests, its order totals and newest order, and its live enrollments that are
-- upcoming (after p_now) or unpaid. A PL/pgSQL function keeps its query plan per connection
-- (generic, planned once), where the same statement sent as text would be planned on every call.
CREATE FUNCTION client_view(p_id uuid, p_now timestamptz) RETURNS text
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN (
        SELECT json_build_object(
            'client', row_to_json(c),
            'company', (SELECT row_to_json(co) FROM companies co WHERE co.id = c.company_id),
            'interests', (SELECT coalesce(json_agg(i ORDER BY i.name), '[]'::json)
                            FROM client_interests ci JOIN interests i ON i.id = ci.interest_id
                           WHERE ci.client_id = c.id),
            'order_count', (SELECT count(*) FROM orders WHERE client_id = c.id),
            'total_spent', (SELECT coalesce(sum(total), 0)::text FROM orders
                             WHERE client_id = c.id AND status <> 'cancelled'),
            'last_order', (SELECT json_build_object('id', lo.id, 'status', lo.status, 'total', lo.total::text,
                                                    'created_at', lo.created_at)
                             FROM orders lo WHERE lo.client_id = c.id ORDER BY lo.id DESC LIMIT 1),
            'open_enrollments', (SELECT coalesce(json_agg(json_build_object(
                                            'enrollment_id', e.id, 'workshop_id', w.id, 'workshop_name', w.name,
                                            'starts_at', w.starts_at, 'status', e.status, 'price', e.price::text,
                                            'amount_paid', e.amount_paid::text)
                                        ORDER BY w.starts_at, e.id), '[]'::json)
                                   FROM enrollments e JOIN workshops w ON w.id = e.workshop_id
                                  WHERE e.client_id = c.id AND e.status <> 'cancelled'
                                    AND (w.starts_at > p_now OR e.status <> 'paid'))
        )::text
        FROM clients c
        WHERE c.id = p_id
    );
END
$$;
