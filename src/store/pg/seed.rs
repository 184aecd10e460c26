//! Bulk statements used only by the demo-data seeder.

use super::catalog::{CategoryRow, ProductRow};
use super::clients::{NewClientInterest, NewClientRow};
use super::companies::CompanyRow;
use super::coupons::CouponRow;
use super::interests::InterestRow;
use super::schema::{
    categories, client_interests, clients, companies, coupons, enrollments, events, interests, notifications, orders,
    products, workshops,
};
use super::workshops::WorkshopRow;
use crate::domain::catalog::{Category, Product, StockMovement};
use crate::domain::client::Client;
use crate::domain::companies::Company;
use crate::domain::coupons::Coupon;
use crate::domain::ids::{CategoryId, ClientId, InterestId, ProductId, WorkshopId};
use crate::domain::interests::Interest;
use crate::domain::notifications::NotificationStatus;
use crate::domain::workshops::Workshop;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use uuid::Uuid;

/// Tables a reset keeps: who may call the API (keys, staff users) and what they did, and what
/// the migrations load (the plans, the migrations' own record). Sessions go (customers' belong to
/// clients that go): staff sign in again.
pub const KEPT: &[&str] = &["api_keys", "users", "audit_log", "plans", "__diesel_schema_migrations"];

/// Empties every table but the kept ones, rollups included (a rolled-up day with no note of a
/// change would otherwise outlive the rows it summed). The list is read from the catalog, so a
/// new table is emptied without being named here.
pub fn reset(conn: &mut PgConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT quote_ident(tablename) AS name FROM pg_tables \
         WHERE schemaname = current_schema() AND tablename <> ALL($1) ORDER BY tablename",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(KEPT)
    .load(conn)?;
    let names: Vec<String> = tables.into_iter().map(|t| t.name).collect();
    diesel::sql_query(format!("TRUNCATE {}", names.join(", "))).execute(conn)?;
    Ok(())
}

/// The seed's history is not mailed: the messages its events queued (events since `since`)
/// are recorded as skipped.
pub fn skip_history_notifications(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let seeded = events::table.filter(events::occurred_at.ge(since)).select(events::id.nullable());
    diesel::update(notifications::table)
        .filter(notifications::status.eq(NotificationStatus::Pending.as_str()))
        .filter(notifications::event_id.eq_any(seeded))
        .set((
            notifications::status.eq(NotificationStatus::Skipped.as_str()),
            notifications::reason.eq("demo history: the seed does not send its messages"),
            notifications::finished_at.eq(now),
            notifications::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Inserts the companies that do not exist yet and returns all of them by legal name.
pub fn upsert_companies(conn: &mut PgConnection, new: &[Company]) -> QueryResult<Vec<Company>> {
    let rows: Vec<CompanyRow> = new.iter().map(CompanyRow::from).collect();
    diesel::insert_into(companies::table).values(&rows).on_conflict_do_nothing().execute(conn)?;
    let names: Vec<&str> = new.iter().map(|c| c.legal_name.as_str()).collect();
    Ok(companies::table
        .filter(companies::legal_name.eq_any(names))
        .select(CompanyRow::as_select())
        .order(companies::legal_name)
        .load::<CompanyRow>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub fn upsert_interests(conn: &mut PgConnection, new: &[Interest]) -> QueryResult<Vec<Interest>> {
    let rows: Vec<InterestRow> = new.iter().map(InterestRow::from).collect();
    diesel::insert_into(interests::table).values(&rows).on_conflict_do_nothing().execute(conn)?;
    let names: Vec<&str> = new.iter().map(|i| i.name.as_str()).collect();
    Ok(interests::table
        .filter(interests::name.eq_any(names))
        .select(InterestRow::as_select())
        .order(interests::name)
        .load::<InterestRow>(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Inserts the clients whose email is not taken yet, with their interests; returns the new ids.
pub fn insert_clients(conn: &mut PgConnection, new: &[Client]) -> QueryResult<Vec<ClientId>> {
    let mut inserted = Vec::new();
    // PostgreSQL caps bind parameters at 65,535 per statement.
    for chunk in new.chunks(4_000) {
        let rows: Vec<NewClientRow> = chunk.iter().map(NewClientRow::from).collect();
        let ids: Vec<Uuid> = diesel::insert_into(clients::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .returning(clients::id)
            .get_results(conn)?;
        inserted.extend(ids);
    }
    let fresh: std::collections::HashSet<Uuid> = inserted.iter().copied().collect();
    let links: Vec<NewClientInterest> = new
        .iter()
        .filter(|c| fresh.contains(&c.id.0))
        .flat_map(|c| c.interest_ids.iter().map(move |i| NewClientInterest { client_id: c.id.0, interest_id: i.0 }))
        .collect();
    for chunk in links.chunks(20_000) {
        diesel::insert_into(client_interests::table).values(chunk).on_conflict_do_nothing().execute(conn)?;
    }
    Ok(inserted.into_iter().map(ClientId).collect())
}

/// Inserts categories whose slug is new; returns every seeded category's id in slug order.
pub fn upsert_categories(conn: &mut PgConnection, new: &[Category]) -> QueryResult<Vec<CategoryId>> {
    let rows: Vec<CategoryRow> = new.iter().map(CategoryRow::from).collect();
    diesel::insert_into(categories::table).values(&rows).on_conflict_do_nothing().execute(conn)?;
    let slugs: Vec<&str> = new.iter().map(|r| r.slug.as_str()).collect();
    let ids: Vec<Uuid> = categories::table
        .filter(categories::slug.eq_any(slugs))
        .select(categories::id)
        .order(categories::slug)
        .load(conn)?;
    Ok(ids.into_iter().map(CategoryId).collect())
}

/// Inserts products whose slug is new, each with its initial stock as an `in` movement (built
/// by `initial`); returns the active seeded products' ids.
pub fn upsert_products(
    conn: &mut PgConnection,
    new: &[Product],
    initial: impl Fn(ProductId, i32) -> StockMovement,
) -> QueryResult<Vec<ProductId>> {
    for chunk in new.chunks(2_000) {
        let rows: Vec<ProductRow> = chunk.iter().map(ProductRow::from).collect();
        let added: Vec<(Uuid, i32)> = diesel::insert_into(products::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .returning((products::id, products::stock))
            .get_results(conn)?;
        let movements: Vec<StockMovement> =
            added.into_iter().map(|(id, stock)| initial(ProductId(id), stock)).collect();
        super::catalog::insert_movements(conn, &movements)?;
    }
    let slugs: Vec<&str> = new.iter().map(|r| r.slug.as_str()).collect();
    let ids: Vec<Uuid> = products::table
        .filter(products::slug.eq_any(slugs))
        .filter(products::active.eq(true))
        .select(products::id)
        .order(products::slug)
        .load(conn)?;
    Ok(ids.into_iter().map(ProductId).collect())
}

/// Inserts workshops whose name is new, each with its seats; returns every seeded workshop's id.
/// Inserts the workshops that do not exist yet (by name) with their seats, and returns every one
/// of them: id, start and capacity.
pub fn upsert_workshops(
    conn: &mut PgConnection,
    new: &[Workshop],
) -> QueryResult<Vec<(WorkshopId, DateTime<Utc>, i32)>> {
    let rows: Vec<WorkshopRow> = new.iter().map(WorkshopRow::from).collect();
    let added: Vec<(Uuid, i32)> = diesel::insert_into(workshops::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning((workshops::id, workshops::capacity))
        .get_results(conn)?;
    for (id, capacity) in added {
        super::workshops::add_seats(conn, WorkshopId(id), capacity)?;
    }
    let names: Vec<&str> = new.iter().map(|r| r.name.as_str()).collect();
    let found: Vec<(Uuid, DateTime<Utc>, i32)> = workshops::table
        .filter(workshops::name.eq_any(names))
        .select((workshops::id, workshops::starts_at, workshops::capacity))
        .order((workshops::starts_at, workshops::name))
        .load(conn)?;
    Ok(found.into_iter().map(|(id, starts_at, capacity)| (WorkshopId(id), starts_at, capacity)).collect())
}

/// Live (not cancelled) enrollments of a workshop.
pub fn live_enrollments(conn: &mut PgConnection, workshop: WorkshopId) -> QueryResult<usize> {
    enrollments::table
        .filter(enrollments::workshop_id.eq(workshop.0))
        .filter(enrollments::status.ne("cancelled"))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n as usize)
}

/// How `order_history` spreads orders over time.
#[derive(Debug, Clone, Copy)]
pub struct HistoryShape {
    /// Days of history, ending yesterday.
    pub days: u32,
    /// Buyers drawn from (active clients, the same deterministic spread as `sample_active_clients`).
    pub buyers: i64,
    /// `setseed` for PostgreSQL's `random()`: the same shape gives the same history.
    pub seed: f64,
}

#[derive(QueryableByName)]
struct Added {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Adds `count` orders spread over the `shape.days` days before `now`'s UTC day — with a growth
/// trend, months and weekdays that sell more or less (December and Black Friday week most,
/// summer and Sundays least), and daytime hours — in bulk SQL, as an import of past sales would:
/// line items of active products at their current prices (popular ones more often), the status
/// path each order went through by its age (about 8 % cancelled), a succeeded payment for every
/// order past `pending`, partial refunds of about 4 % of the delivered ones; each from a buyer who
/// had joined by then. Stock is left alone (this is history; today's orders go through the
/// rules). Ids are UUIDv7 of each row's own time, as the API makes them. Returns the orders added.
pub fn order_history(
    conn: &mut PgConnection,
    count: usize,
    shape: HistoryShape,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    if count == 0 {
        return Ok(0);
    }
    let now = format!("'{}'::timestamptz", now.to_rfc3339());
    let HistoryShape { days, buyers, seed } = shape;
    conn.transaction(|conn| {
        conn.batch_execute(&format!(
            "CREATE FUNCTION pg_temp.seed_uuid7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
                 SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                     PLACING substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
                     52, 1), 53, 1), 'hex')::uuid
             $$;
             SELECT setseed({seed});
             CREATE TEMP TABLE seed_buyers ON COMMIT DROP AS
                 SELECT (row_number() OVER (ORDER BY created_at, id) - 1)::int AS n, id, created_at
                 FROM (SELECT id, created_at FROM clients WHERE active ORDER BY hashtext(id::text), id LIMIT {buyers}) b;
             CREATE TEMP TABLE seed_products ON COMMIT DROP AS
                 SELECT (row_number() OVER (ORDER BY name, id) - 1)::int AS n, id, name, slug, price
                 FROM products WHERE active;
             CREATE TEMP TABLE seed_days ON COMMIT DROP AS
                 WITH d AS (
                     SELECT g::date AS day, row_number() OVER (ORDER BY g) AS i,
                            -- Buyers who had joined by then: a day without any sells nothing.
                            (SELECT count(*) FROM seed_buyers b WHERE b.created_at < (g::date::timestamp AT TIME ZONE 'UTC')) AS joined
                     FROM generate_series(({now} AT TIME ZONE 'UTC')::date - {days}, ({now} AT TIME ZONE 'UTC')::date - 1,
                                          interval '1 day') g
                 ),
                 w AS (
                     SELECT day, joined,
                            (joined > 0)::int * (0.6 + 0.6 * i / {days})
                            * (ARRAY[0.85, 0.8, 0.9, 0.95, 1.0, 0.85, 0.75, 0.8, 1.0, 1.1, 1.3, 1.7])[extract(month FROM day)::int]
                            * (ARRAY[0.65, 1.0, 1.05, 1.05, 1.0, 1.1, 0.8])[extract(dow FROM day)::int + 1]
                            * CASE WHEN extract(month FROM day) = 11 AND extract(day FROM day) >= 24 THEN 1.6 ELSE 1 END
                            * (0.85 + 0.3 * random()) AS weight
                     FROM d
                 ),
                 c AS (SELECT day, joined, weight, sum(weight) OVER (ORDER BY day) AS upto,
                              nullif(sum(weight) OVER (), 0) AS total FROM w)
                 SELECT day, joined, (floor({count} * upto / total) - floor({count} * (upto - weight) / total))::int AS orders
                 FROM c;
             CREATE TEMP TABLE seed_orders ON COMMIT DROP AS
                 SELECT o.*, b.id AS client_id, pg_temp.seed_uuid7(o.at) AS id, pg_temp.seed_uuid7(o.at + interval '2 minutes') AS payment_id,
                        CASE WHEN o.r_status < 0.08 THEN 0
                             WHEN o.at < {now} - interval '10 days' THEN 5
                             -- A recent order is somewhere along the steps its age allows.
                             ELSE 1 + floor(random() * (1 + (o.at + interval '2 minutes' <= {now})::int
                                  + (o.at + interval '1 day' <= {now})::int + (o.at + interval '2 days' <= {now})::int
                                  + (o.at + interval '5 days' <= {now})::int))::int
                        END AS steps
                 FROM (
                     SELECT (d.day::timestamp AT TIME ZONE 'UTC') + interval '1 second' * floor(25200 + 54000 * random()) AS at,
                            (ARRAY['card', 'card', 'card', 'paypal', 'bank_transfer', 'cash'])[1 + floor(random() * 6)::int] AS method,
                            1 + floor(random() * 3)::int AS lines,
                            floor((SELECT count(*) FROM seed_products) * power(random(), 2))::int AS first_product,
                            random() AS r_status, random() AS r_refund, floor(random() * 500)::int AS street,
                            -- Some clients (the longest-standing) buy much more often than others.
                            floor(d.joined * power(random(), 1.6))::int AS buyer
                     FROM seed_days d
                     CROSS JOIN LATERAL generate_series(1, d.orders) g
                     WHERE EXISTS (SELECT 1 FROM seed_products)
                 ) o
                 JOIN seed_buyers b ON b.n = o.buyer;"
        ))?;
        conn.batch_execute(&format!(
            "CREATE TEMP TABLE seed_items ON COMMIT DROP AS
                 SELECT o.id AS order_id, p.id AS product_id, p.name, p.slug, p.price, q.quantity, p.price * q.quantity AS line_total
                 FROM seed_orders o
                 CROSS JOIN LATERAL (
                     SELECT j, 1 + floor(random() * 3)::int AS quantity
                     FROM generate_series(0, least(o.lines, (SELECT count(*) FROM seed_products)::int) - 1) j
                 ) q
                 JOIN seed_products p ON p.n = (o.first_product + q.j) % (SELECT count(*) FROM seed_products);
             CREATE TEMP TABLE seed_placed ON COMMIT DROP AS
                 SELECT o.*, t.subtotal,
                        (ARRAY['cancelled', 'pending', 'confirmed', 'processing', 'shipped', 'delivered'])[o.steps + 1] AS status,
                        CASE WHEN o.steps = 5 AND o.r_refund < 0.04 AND o.at < {now} - interval '20 days'
                             THEN greatest(round(t.subtotal * 0.25, 2), 0.01) ELSE 0 END AS refund
                 FROM seed_orders o
                 JOIN (SELECT order_id, sum(line_total) AS subtotal FROM seed_items GROUP BY order_id) t ON t.order_id = o.id;
             CREATE TEMP TABLE seed_steps ON COMMIT DROP AS
                 SELECT o.id AS order_id, s.k,
                        CASE WHEN o.steps = 0 THEN (ARRAY[NULL, 'pending'])[s.k]
                             ELSE (ARRAY[NULL, 'pending', 'confirmed', 'processing', 'shipped'])[s.k] END AS from_status,
                        CASE WHEN o.steps = 0 THEN (ARRAY['pending', 'cancelled'])[s.k]
                             ELSE (ARRAY['pending', 'confirmed', 'processing', 'shipped', 'delivered'])[s.k] END AS to_status,
                        o.at + CASE WHEN o.steps = 0 AND s.k = 2 THEN least(interval '3 hours', ({now} - o.at) / 2)
                                    ELSE (ARRAY[interval '0', interval '2 minutes', interval '1 day', interval '2 days',
                                                interval '5 days'])[s.k] END AS changed_at
                 FROM seed_placed o
                 CROSS JOIN LATERAL generate_series(1, CASE WHEN o.steps = 0 THEN 2 ELSE o.steps END) s (k);
             INSERT INTO orders (id, client_id, status, shipping_address, payment_method, subtotal, discount, total,
                                 amount_paid, amount_refunded, version, created_at, updated_at)
                 SELECT o.id, o.client_id, o.status, (1 + o.street) || ' Market Street, Springfield', o.method, o.subtotal, 0,
                        o.subtotal, CASE WHEN o.steps >= 2 THEN o.subtotal - o.refund ELSE 0 END,
                        CASE WHEN o.steps >= 2 THEN o.refund ELSE 0 END,
                        CASE WHEN o.steps = 0 THEN 2 ELSE o.steps END, o.at, s.last_at
                 FROM seed_placed o
                 JOIN (SELECT order_id, max(changed_at) AS last_at FROM seed_steps GROUP BY order_id) s ON s.order_id = o.id;
             INSERT INTO order_items (order_id, product_id, product_name, product_slug, unit_price, quantity, line_total)
                 SELECT order_id, product_id, name, slug, price, quantity, line_total FROM seed_items;
             INSERT INTO order_status_history (id, order_id, from_status, to_status, note, changed_at)
                 SELECT pg_temp.seed_uuid7(changed_at), order_id, from_status, to_status, NULL, changed_at FROM seed_steps;
             INSERT INTO payments (id, subject_type, order_id, client_id, amount, amount_refunded, method, status,
                                   created_at, updated_at, completed_at)
                 SELECT payment_id, 'order', id, client_id, subtotal, refund, method, 'succeeded',
                        at + interval '2 minutes', at + interval '2 minutes', at + interval '2 minutes'
                 FROM seed_placed WHERE steps >= 2;
             INSERT INTO refunds (id, payment_id, amount, reason, status, created_at, updated_at, completed_at)
                 SELECT pg_temp.seed_uuid7(r.at), o.payment_id, o.refund, 'Arrived damaged', 'succeeded', r.at, r.at, r.at
                 FROM seed_placed o
                 CROSS JOIN LATERAL (SELECT o.at + interval '6 days' + interval '1 minute' * floor(random() * 18000) AS at) r
                 WHERE o.refund > 0;
             UPDATE clients SET has_activity = TRUE WHERE id IN (SELECT client_id FROM seed_orders) AND NOT has_activity;
             DROP FUNCTION pg_temp.seed_uuid7(timestamptz);"
        ))?;
        diesel::sql_query("SELECT count(*) AS n FROM seed_placed").get_result::<Added>(conn).map(|a| a.n as usize)
    })
}
pub fn interests_by_name(conn: &mut PgConnection) -> QueryResult<std::collections::HashMap<String, InterestId>> {
    let pairs: Vec<(String, Uuid)> = interests::table.select((interests::name, interests::id)).load(conn)?;
    Ok(pairs.into_iter().map(|(name, id)| (name, InterestId(id))).collect())
}

/// Up to `limit` active clients with when each joined, a deterministic spread over all of them
/// (orders and enrollments pick buyers from these; at a million clients, loading every id is not
/// needed).
pub fn sample_active_clients(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<(ClientId, DateTime<Utc>)>> {
    let rows: Vec<(Uuid, DateTime<Utc>)> = clients::table
        .filter(clients::active.eq(true))
        .select((clients::id, clients::created_at))
        .order((diesel::dsl::sql::<diesel::sql_types::Integer>("hashtext(clients.id::text)"), clients::id))
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, joined)| (ClientId(id), joined)).collect())
}

pub fn order_count(conn: &mut PgConnection) -> QueryResult<usize> {
    orders::table.count().get_result::<i64>(conn).map(|n| n as usize)
}

pub fn enrollment_count(conn: &mut PgConnection) -> QueryResult<usize> {
    enrollments::table.count().get_result::<i64>(conn).map(|n| n as usize)
}

pub fn upsert_coupons(conn: &mut PgConnection, new: &[Coupon]) -> QueryResult<()> {
    let rows: Vec<CouponRow> = new.iter().map(CouponRow::from).collect();
    diesel::insert_into(coupons::table).values(&rows).on_conflict_do_nothing().execute(conn).map(|_| ())
}
