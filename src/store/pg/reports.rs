//! Report figures: daily rollups, kept by the rollup job, and the same figures computed from the
//! base tables for the days a rollup cannot answer (see the migration `reports` for why every
//! day is exact). One SQL text computes a day's figures from the base tables, for the rollup and
//! for reports alike, so the two can never disagree on what a figure means.

use crate::domain::ids::{CategoryId, ClientId, InterestId, ProductId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::reports::Debtor;
use crate::domain::reports::{
    DailyClientOrders, DailySales, Debts, MethodFigures, NumberedClient, ProductSales, SegmentFigures, SlowMover,
    StockCounts, WorkshopDay, WorkshopStanding,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

/// The figures of each day of the CTE `live_days` (one `day` per row, defined by the enclosing
/// query) from the base tables, one CTE per rollup table: `live_sales`, `live_client_orders`,
/// `live_segments`, `live_products`, `live_methods`, `live_workshops`. PostgreSQL evaluates only those a statement
/// reads. Orders count on the UTC day they were placed, refunds and payments on the UTC day they
/// completed; cancelled orders count only as cancelled. Enrollments count on the day they were
/// made (cancelled ones never), their payments and refunds on the day each completed.
///
/// The planner cannot know how few days are live (usually today alone) and estimates hundreds: a
/// refund's or payment's subject, an order's items and client are therefore looked up per row in
/// a `LATERAL ... OFFSET 0` subquery (`OFFSET 0` keeps it from being flattened), else it would
/// hash a million orders or two million items to join a handful of today's rows.
const FROM_BASE: &str = "
    day_orders AS (
        SELECT l.day, o.id, o.client_id, o.status, o.total, o.client_kind, o.client_plan
        FROM live_days l
        JOIN orders o ON o.created_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                     AND o.created_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
    ),
    day_refunds AS (
        SELECT l.day, r.amount, o.client_kind, o.client_plan
        FROM live_days l
        JOIN refunds r ON r.status = 'succeeded'
                      AND r.completed_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                      AND r.completed_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
        CROSS JOIN LATERAL (
            SELECT o.client_kind, o.client_plan FROM payments p JOIN orders o ON o.id = p.order_id
            WHERE p.id = r.payment_id AND p.subject_type = 'order'
            OFFSET 0
        ) o
    ),
    order_figures AS (
        SELECT day,
               count(*) FILTER (WHERE status <> 'cancelled') AS orders,
               coalesce(sum(total) FILTER (WHERE status <> 'cancelled'), 0) AS gross,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled_orders
        FROM day_orders GROUP BY day
    ),
    first_buyers AS (
        SELECT b.day, count(*) AS first_time_buyers
        FROM (SELECT DISTINCT day, client_id FROM day_orders WHERE status <> 'cancelled') b
        WHERE NOT EXISTS (
            SELECT 1 FROM orders earlier
            WHERE earlier.client_id = b.client_id AND earlier.status <> 'cancelled'
              AND earlier.created_at < (b.day::timestamp AT TIME ZONE 'UTC'))
        GROUP BY b.day
    ),
    day_items AS (
        SELECT d.day, i.product_id, i.quantity, i.line_total
        FROM day_orders d
        CROSS JOIN LATERAL (
            SELECT i.product_id, i.quantity, i.line_total FROM order_items i WHERE i.order_id = d.id OFFSET 0
        ) i
        WHERE d.status <> 'cancelled'
    ),
    item_figures AS (SELECT day, sum(quantity) AS items FROM day_items GROUP BY day),
    refund_figures AS (SELECT day, sum(amount) AS refunds FROM day_refunds GROUP BY day),
    client_figures AS (
        SELECT l.day, count(*) AS new_clients
        FROM live_days l
        JOIN clients c ON c.created_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                      AND c.created_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
        GROUP BY l.day
    ),
    live_sales AS (
        SELECT l.day,
               coalesce(o.orders, 0)::bigint AS orders,
               coalesce(i.items, 0)::bigint AS items,
               coalesce(o.gross, 0)::numeric(14, 2) AS gross,
               coalesce(r.refunds, 0)::numeric(14, 2) AS refunds,
               coalesce(o.cancelled_orders, 0)::bigint AS cancelled_orders,
               coalesce(c.new_clients, 0)::bigint AS new_clients,
               coalesce(f.first_time_buyers, 0)::bigint AS first_time_buyers
        FROM live_days l
        LEFT JOIN order_figures o ON o.day = l.day
        LEFT JOIN item_figures i ON i.day = l.day
        LEFT JOIN refund_figures r ON r.day = l.day
        LEFT JOIN client_figures c ON c.day = l.day
        LEFT JOIN first_buyers f ON f.day = l.day
    ),
    live_client_orders AS (
        SELECT l.day,
               coalesce(array_agg(c.number ORDER BY c.number, d.id) FILTER (WHERE d.id IS NOT NULL), '{}')
                   AS client_numbers,
               coalesce(array_agg((d.total * 100)::bigint ORDER BY c.number, d.id) FILTER (WHERE d.id IS NOT NULL), '{}')
                   AS order_cents
        FROM live_days l
        LEFT JOIN day_orders d ON d.day = l.day AND d.status <> 'cancelled'
        LEFT JOIN LATERAL (SELECT c.number FROM clients c WHERE c.id = d.client_id OFFSET 0) c ON true
        GROUP BY l.day
    ),
    live_segments AS (
        SELECT day, client_kind, client_plan, sum(orders)::bigint AS orders,
               sum(gross)::numeric(14, 2) AS gross, sum(refunds)::numeric(14, 2) AS refunds
        FROM (
            SELECT day, client_kind, client_plan, 1 AS orders, total AS gross, 0 AS refunds
            FROM day_orders WHERE status <> 'cancelled'
            UNION ALL
            SELECT day, client_kind, client_plan, 0, 0, amount FROM day_refunds
        ) s
        GROUP BY day, client_kind, client_plan
    ),
    live_products AS (
        SELECT day, product_id, sum(quantity)::bigint AS units, sum(line_total)::numeric(14, 2) AS revenue
        FROM day_items
        GROUP BY day, product_id
    ),
    live_methods AS (
        SELECT l.day, p.method, count(*)::bigint AS payments, sum(p.amount)::numeric(14, 2) AS amount
        FROM live_days l
        JOIN payments p ON p.status IN ('succeeded', 'refunded')
                       AND p.completed_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                       AND p.completed_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
        GROUP BY l.day, p.method
    ),
    live_workshops AS (
        SELECT day, workshop_id, sum(enrollments)::bigint AS enrollments,
               sum(received)::numeric(14, 2) AS received, sum(refunded)::numeric(14, 2) AS refunded
        FROM (
            SELECT l.day, e.workshop_id, 1 AS enrollments, 0 AS received, 0 AS refunded
            FROM live_days l
            JOIN enrollments e ON e.status <> 'cancelled'
                              AND e.created_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                              AND e.created_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
            UNION ALL
            SELECT l.day, e.workshop_id, 0, p.amount, 0
            FROM live_days l
            JOIN payments p ON p.subject_type = 'enrollment' AND p.status IN ('succeeded', 'refunded')
                           AND p.completed_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                           AND p.completed_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
            CROSS JOIN LATERAL (SELECT e.workshop_id FROM enrollments e WHERE e.id = p.enrollment_id OFFSET 0) e
            UNION ALL
            SELECT l.day, e.workshop_id, 0, 0, r.amount
            FROM live_days l
            JOIN refunds r ON r.status = 'succeeded'
                          AND r.completed_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                          AND r.completed_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
            CROSS JOIN LATERAL (
                SELECT e.workshop_id FROM payments p JOIN enrollments e ON e.id = p.enrollment_id
                WHERE p.id = r.payment_id AND p.subject_type = 'enrollment'
                OFFSET 0
            ) e
        ) w
        GROUP BY day, workshop_id
    )";

/// `days` (every day of $1..=$2 up to today = $3: later days have no figures yet, and a period
/// far in the future must not cost a computation per day), `rolled_days` (those rolled up, over
/// before today and without a note) and `live_days` (the others).
const PERIOD_DAYS: &str = "
    days AS (SELECT d::date AS day FROM generate_series($1::date, least($2::date, $3::date), interval '1 day') d),
    rolled_days AS (
        SELECT s.day FROM daily_sales s
        WHERE s.day BETWEEN $1 AND $2 AND s.day < $3
          AND NOT EXISTS (SELECT 1 FROM report_changes c WHERE c.day = s.day)
    ),
    live_days AS (SELECT day FROM days WHERE day NOT IN (SELECT day FROM rolled_days))";

fn period_query(body: &str) -> String {
    format!("WITH {PERIOD_DAYS}, {FROM_BASE} {body}")
}

/// The rows of `body` (after the period's CTEs) for `from..=to` with today = `today`.
fn load_period<R: QueryableByName<diesel::pg::Pg> + 'static>(
    conn: &mut PgConnection,
    body: &str,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<R>> {
    diesel::sql_query(period_query(body)).bind::<Date, _>(from).bind::<Date, _>(to).bind::<Date, _>(today).load(conn)
}

#[derive(QueryableByName)]
struct DailySalesRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = Numeric)]
    gross: Decimal,
    #[diesel(sql_type = Numeric)]
    refunds: Decimal,
    #[diesel(sql_type = BigInt)]
    cancelled_orders: i64,
    #[diesel(sql_type = BigInt)]
    new_clients: i64,
    #[diesel(sql_type = BigInt)]
    first_time_buyers: i64,
}

impl From<DailySalesRow> for DailySales {
    fn from(row: DailySalesRow) -> Self {
        DailySales {
            day: row.day,
            orders: row.orders,
            items: row.items,
            gross: Money::from_decimal(row.gross),
            refunds: Money::from_decimal(row.refunds),
            cancelled_orders: row.cancelled_orders,
            new_clients: row.new_clients,
            first_time_buyers: row.first_time_buyers,
        }
    }
}

/// Every day of `from..=to` up to today, zeros included (later days have none yet). Run it in one
/// snapshot with anything it must agree with.
pub fn daily_sales(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<DailySales>> {
    let rows: Vec<DailySalesRow> = load_period(
        conn,
        "SELECT s.day, s.orders::bigint AS orders, s.items::bigint AS items, s.gross, s.refunds,
                s.cancelled_orders::bigint AS cancelled_orders, s.new_clients::bigint AS new_clients,
                s.first_time_buyers::bigint AS first_time_buyers
         FROM daily_sales s JOIN rolled_days USING (day)
         UNION ALL
         SELECT * FROM live_sales
         ORDER BY day",
        from,
        to,
        today,
    )?;
    Ok(rows.into_iter().map(DailySales::from).collect())
}

#[derive(QueryableByName)]
struct ClientOrdersRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Array<Integer>)]
    client_numbers: Vec<i32>,
    #[diesel(sql_type = Array<BigInt>)]
    order_cents: Vec<i64>,
}

/// Who bought on each day of `from..=to` up to today: one entry per order not cancelled.
pub fn daily_client_orders(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<DailyClientOrders>> {
    let rows: Vec<ClientOrdersRow> = load_period(
        conn,
        "SELECT c.day, c.client_numbers, c.order_cents FROM daily_client_orders c JOIN rolled_days USING (day)
         UNION ALL
         SELECT day, client_numbers, order_cents FROM live_client_orders
         ORDER BY day",
        from,
        to,
        today,
    )?;
    Ok(rows
        .into_iter()
        .map(|r| DailyClientOrders { day: r.day, client_numbers: r.client_numbers, order_cents: r.order_cents })
        .collect())
}

#[derive(QueryableByName)]
struct ClientNumbersRow {
    #[diesel(sql_type = Array<Integer>)]
    client_numbers: Vec<i32>,
}

/// Who bought on each day of `from..=to` up to today: the client number of each order not
/// cancelled (half the bytes of `daily_client_orders`, for counting buyers).
pub fn daily_client_numbers(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<Vec<i32>>> {
    let rows: Vec<ClientNumbersRow> = load_period(
        conn,
        "SELECT c.client_numbers FROM daily_client_orders c JOIN rolled_days USING (day)
         UNION ALL
         SELECT client_numbers FROM live_client_orders",
        from,
        to,
        today,
    )?;
    Ok(rows.into_iter().map(|r| r.client_numbers).collect())
}

#[derive(QueryableByName)]
struct SegmentRow {
    #[diesel(sql_type = Text)]
    client_kind: String,
    #[diesel(sql_type = Text)]
    client_plan: String,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = Numeric)]
    gross: Decimal,
    #[diesel(sql_type = Numeric)]
    refunds: Decimal,
}

/// Sales of `from..=to` by the client's kind and plan at the time of each order.
pub fn segments(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<SegmentFigures>> {
    let rows: Vec<SegmentRow> = load_period(
        conn,
        "SELECT client_kind, client_plan, sum(orders)::bigint AS orders, sum(gross) AS gross, sum(refunds) AS refunds
         FROM (
             SELECT s.client_kind, s.client_plan, s.orders::bigint AS orders, s.gross, s.refunds
             FROM daily_segment_sales s JOIN rolled_days USING (day)
             UNION ALL
             SELECT client_kind, client_plan, orders, gross, refunds FROM live_segments
         ) all_days
         GROUP BY client_kind, client_plan
         ORDER BY client_kind, client_plan",
        from,
        to,
        today,
    )?;
    Ok(rows
        .into_iter()
        .map(|r| SegmentFigures {
            kind: r.client_kind,
            plan: r.client_plan,
            orders: r.orders,
            gross: Money::from_decimal(r.gross),
            refunds: Money::from_decimal(r.refunds),
        })
        .collect())
}

#[derive(QueryableByName)]
struct MethodRow {
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = BigInt)]
    payments: i64,
    #[diesel(sql_type = Numeric)]
    amount: Decimal,
}

/// Succeeded payments of `from..=to` (every subject) by method.
pub fn payment_methods(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<MethodFigures>> {
    let rows: Vec<MethodRow> = load_period(
        conn,
        "SELECT method, sum(payments)::bigint AS payments, sum(amount) AS amount
         FROM (
             SELECT m.method, m.payments::bigint AS payments, m.amount
             FROM daily_payment_methods m JOIN rolled_days USING (day)
             UNION ALL
             SELECT method, payments, amount FROM live_methods
         ) all_days
         GROUP BY method
         ORDER BY method",
        from,
        to,
        today,
    )?;
    Ok(rows
        .into_iter()
        .map(|r| MethodFigures { method: r.method, payments: r.payments, amount: Money::from_decimal(r.amount) })
        .collect())
}

#[derive(QueryableByName)]
struct FirstDay {
    #[diesel(sql_type = Nullable<Date>)]
    day: Option<NaiveDate>,
}

/// The first day anything reports count happened (a client created, an order placed).
pub fn first_day(conn: &mut PgConnection) -> QueryResult<Option<NaiveDate>> {
    diesel::sql_query(
        "SELECT (least((SELECT min(created_at) FROM orders), (SELECT min(created_at) FROM clients),
                       (SELECT min(completed_at) FROM payments)) AT TIME ZONE 'UTC')::date AS day",
    )
    .get_result::<FirstDay>(conn)
    .map(|first| first.day)
}

#[derive(QueryableByName)]
struct Settled {
    #[diesel(sql_type = Date)]
    before: NaiveDate,
}

/// Days before this one are over for good: no transaction that began on them is still running
/// (one that did may still write their rows without noting the change), by PostgreSQL's clock,
/// which the triggers use too.
pub fn settled_before(conn: &mut PgConnection) -> QueryResult<NaiveDate> {
    diesel::sql_query(
        "SELECT (least(now(), coalesce(min(xact_start), now())) AT TIME ZONE 'UTC')::date AS before
         FROM pg_stat_activity
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()",
    )
    .get_result::<Settled>(conn)
    .map(|settled| settled.before)
}

/// Where the periodic rollup goes on from: the day after the last rolled-up one, else the first
/// day anything happened (`None`: nothing to roll up yet).
pub fn rollup_start(conn: &mut PgConnection) -> QueryResult<Option<NaiveDate>> {
    let last = diesel::sql_query("SELECT max(day) + 1 AS day FROM daily_sales").get_result::<FirstDay>(conn)?;
    match last.day {
        Some(day) => Ok(Some(day)),
        None => first_day(conn),
    }
}

#[derive(QueryableByName)]
struct RolledUp {
    #[diesel(sql_type = BigInt)]
    days: i64,
}

/// Rolls up, in one statement (one snapshot), every day of `from..before` and every noted day
/// before `before`, and deletes exactly the notes it saw: a change committed meanwhile keeps its
/// note for the next run. Each rollup table gets the day's rows and loses the day's rows that no
/// longer have figures (`day = ANY (ARRAY(...))`: an index scan of the live days, where a join
/// with them, estimated at hundreds of days, would scan the whole table). Recomputing a day gives
/// the same rows. Rows are written in day order, so a
/// day's rows share a few pages and a year of them reads in a few thousand. Returns the days
/// written.
pub fn roll_up(
    conn: &mut PgConnection,
    from: Option<NaiveDate>,
    before: NaiveDate,
    at: DateTime<Utc>,
) -> QueryResult<i64> {
    let query = format!(
        "WITH noted AS (DELETE FROM report_changes WHERE day < $2 RETURNING day),
        live_days AS (
            SELECT day FROM noted
            UNION
            SELECT d::date FROM generate_series(coalesce($1::date, $2::date), $2::date - 1, interval '1 day') d
        ),
        {FROM_BASE},
        sales_written AS (
            INSERT INTO daily_sales (day, orders, items, gross, refunds, cancelled_orders, new_clients,
                                     first_time_buyers, rolled_up_at)
            SELECT day, orders, items, gross, refunds, cancelled_orders, new_clients, first_time_buyers, $3
            FROM live_sales
            ON CONFLICT (day) DO UPDATE SET
                orders = excluded.orders, items = excluded.items, gross = excluded.gross,
                refunds = excluded.refunds, cancelled_orders = excluded.cancelled_orders,
                new_clients = excluded.new_clients, first_time_buyers = excluded.first_time_buyers,
                rolled_up_at = excluded.rolled_up_at
            RETURNING day
        ),
        clients_written AS (
            INSERT INTO daily_client_orders (day, client_numbers, order_cents)
            SELECT day, client_numbers, order_cents FROM live_client_orders
            ON CONFLICT (day) DO UPDATE SET client_numbers = excluded.client_numbers, order_cents = excluded.order_cents
        ),
        segments_gone AS (
            DELETE FROM daily_segment_sales s
            WHERE s.day = ANY (ARRAY(SELECT day FROM live_days)) AND NOT EXISTS (
                SELECT 1 FROM live_segments n
                WHERE n.day = s.day AND n.client_kind = s.client_kind AND n.client_plan = s.client_plan)
        ),
        segments_written AS (
            INSERT INTO daily_segment_sales (day, client_kind, client_plan, orders, gross, refunds)
            SELECT day, client_kind, client_plan, orders, gross, refunds FROM live_segments
            ORDER BY day, client_kind, client_plan
            ON CONFLICT (day, client_kind, client_plan) DO UPDATE SET
                orders = excluded.orders, gross = excluded.gross, refunds = excluded.refunds
        ),
        products_gone AS (
            DELETE FROM daily_product_sales s
            WHERE s.day = ANY (ARRAY(SELECT day FROM live_days)) AND NOT EXISTS (
                SELECT 1 FROM live_products n WHERE n.day = s.day AND n.product_id = s.product_id)
        ),
        products_written AS (
            INSERT INTO daily_product_sales (day, product_id, units, revenue)
            SELECT day, product_id, units, revenue FROM live_products
            ORDER BY day, product_id
            ON CONFLICT (day, product_id) DO UPDATE SET units = excluded.units, revenue = excluded.revenue
        ),
        methods_gone AS (
            DELETE FROM daily_payment_methods s
            WHERE s.day = ANY (ARRAY(SELECT day FROM live_days)) AND NOT EXISTS (
                SELECT 1 FROM live_methods n WHERE n.day = s.day AND n.method = s.method)
        ),
        methods_written AS (
            INSERT INTO daily_payment_methods (day, method, payments, amount)
            SELECT day, method, payments, amount FROM live_methods
            ORDER BY day, method
            ON CONFLICT (day, method) DO UPDATE SET payments = excluded.payments, amount = excluded.amount
        ),
        workshops_gone AS (
            DELETE FROM daily_workshop_sales s
            WHERE s.day = ANY (ARRAY(SELECT day FROM live_days)) AND NOT EXISTS (
                SELECT 1 FROM live_workshops n WHERE n.day = s.day AND n.workshop_id = s.workshop_id)
        ),
        workshops_written AS (
            INSERT INTO daily_workshop_sales (day, workshop_id, enrollments, received, refunded)
            SELECT day, workshop_id, enrollments, received, refunded FROM live_workshops
            ORDER BY day, workshop_id
            ON CONFLICT (day, workshop_id) DO UPDATE SET
                enrollments = excluded.enrollments, received = excluded.received, refunded = excluded.refunded
        )
        SELECT count(*) AS days FROM sales_written"
    );
    diesel::sql_query(query)
        .bind::<Nullable<Date>, _>(from)
        .bind::<Date, _>(before)
        .bind::<Timestamptz, _>(at)
        .get_result::<RolledUp>(conn)
        .map(|rolled| rolled.days)
}

#[derive(QueryableByName)]
struct StockRow {
    #[diesel(sql_type = BigInt)]
    critical: i64,
    #[diesel(sql_type = BigInt)]
    low: i64,
    #[diesel(sql_type = BigInt)]
    optimal: i64,
}

/// Active products by stock status now, with the bands of `GET /products?stock_status=`.
pub fn stock_status(conn: &mut PgConnection) -> QueryResult<StockCounts> {
    let row: StockRow = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE stock <= reorder_point) AS critical,
                count(*) FILTER (WHERE stock > reorder_point AND 2 * stock::bigint <= 3 * reorder_point::bigint) AS low,
                count(*) FILTER (WHERE 2 * stock::bigint > 3 * reorder_point::bigint) AS optimal
         FROM products WHERE active",
    )
    .get_result(conn)?;
    Ok(StockCounts { critical: row.critical, low: row.low, optimal: row.optimal })
}

#[derive(QueryableByName)]
struct DebtRow {
    #[diesel(sql_type = BigInt)]
    clients: i64,
    #[diesel(sql_type = BigInt)]
    enrollments: i64,
    #[diesel(sql_type = Numeric)]
    owed: Decimal,
}

/// Workshop debtors now: clients with enrollments not cancelled and not paid in full.
pub fn debts(conn: &mut PgConnection) -> QueryResult<Debts> {
    let row: DebtRow = diesel::sql_query(
        "SELECT count(DISTINCT client_id) AS clients, count(*) AS enrollments,
                coalesce(sum(price - amount_refunded - amount_paid), 0) AS owed
         FROM enrollments WHERE status IN ('pending_payment', 'partially_paid')",
    )
    .get_result(conn)?;
    Ok(Debts { clients: row.clients, enrollments: row.enrollments, owed: Money::from_decimal(row.owed) })
}

#[derive(QueryableByName)]
struct ProductSalesRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    product_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    category_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<String>,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = Numeric)]
    revenue: Decimal,
}

/// `sold`: units and line totals per product over the period (rolled-up days and the others).
const SOLD: &str = "
    sold AS (
        SELECT product_id, sum(units)::bigint AS units, sum(revenue)::numeric(14, 2) AS revenue
        FROM (
            -- Summed per product first: the table's statistics know how few products there are,
            -- so this is one hash aggregate instead of a sort of every day's rows.
            SELECT s.product_id, sum(s.units)::bigint AS units, sum(s.revenue) AS revenue
            FROM daily_product_sales s JOIN rolled_days USING (day)
            GROUP BY s.product_id
            UNION ALL
            SELECT product_id, units, revenue FROM live_products
        ) all_days
        GROUP BY product_id
    )";

/// Every product sold in `from..=to` (orders not cancelled), with its current name and category.
pub fn product_sales(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<ProductSales>> {
    let rows: Vec<ProductSalesRow> = load_period(
        conn,
        &format!(
            ", {SOLD}
         SELECT p.id AS product_id, p.name, p.category_id, c.name AS category, s.units, s.revenue
         FROM sold s JOIN products p ON p.id = s.product_id LEFT JOIN categories c ON c.id = p.category_id"
        ),
        from,
        to,
        today,
    )?;
    Ok(rows
        .into_iter()
        .map(|r| ProductSales {
            product_id: ProductId(r.product_id),
            name: r.name,
            category_id: r.category_id.map(CategoryId),
            category: r.category,
            units: r.units,
            revenue: Money::from_decimal(r.revenue),
        })
        .collect())
}

#[derive(QueryableByName)]
struct SlowMoverRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    stock: i32,
}

/// Active products with stock on hand and no unit sold in `from..=to`, most stock first.
pub fn slow_movers(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<SlowMover>> {
    let rows: Vec<SlowMoverRow> = diesel::sql_query(period_query(&format!(
        ", {SOLD}
         SELECT p.id, p.name, p.stock FROM products p
         WHERE p.active AND p.stock > 0 AND NOT EXISTS (SELECT 1 FROM sold s WHERE s.product_id = p.id)
         ORDER BY p.stock DESC, p.name, p.id
         LIMIT $4"
    )))
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Date, _>(today)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| SlowMover { product_id: ProductId(r.id), name: r.name, stock: r.stock }).collect())
}

#[derive(QueryableByName)]
struct NumberedClientRow {
    #[diesel(sql_type = Integer)]
    number: i32,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    plan: String,
}

/// The clients with these numbers, as they are now.
pub fn clients_by_number(conn: &mut PgConnection, numbers: &[i32]) -> QueryResult<Vec<NumberedClient>> {
    let rows: Vec<NumberedClientRow> =
        diesel::sql_query("SELECT number, id, name, email, kind, plan FROM clients WHERE number = ANY($1)")
            .bind::<Array<Integer>, _>(numbers)
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| NumberedClient {
            number: r.number,
            client_id: ClientId(r.id),
            name: r.name,
            email: r.email,
            kind: r.kind,
            plan: r.plan,
        })
        .collect())
}

#[derive(QueryableByName)]
struct WorkshopDayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    workshop_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    modality: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    category_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = BigInt)]
    enrollments: i64,
    #[diesel(sql_type = Numeric)]
    received: Decimal,
    #[diesel(sql_type = Numeric)]
    refunded: Decimal,
}

/// Enrollments made and enrollment money of each workshop on each day of `from..=to` up to
/// today (only the workshops with figures that day), with the workshop's modality and category.
pub fn workshop_days(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<WorkshopDay>> {
    let rows: Vec<WorkshopDayRow> = load_period(
        conn,
        "SELECT a.day, a.workshop_id, w.modality, w.category_id, i.name AS category, a.enrollments, a.received, a.refunded
         FROM (
             SELECT s.day, s.workshop_id, s.enrollments::bigint AS enrollments, s.received, s.refunded
             FROM daily_workshop_sales s JOIN rolled_days USING (day)
             UNION ALL
             SELECT day, workshop_id, enrollments, received, refunded FROM live_workshops
         ) a
         JOIN workshops w ON w.id = a.workshop_id
         JOIN interests i ON i.id = w.category_id
         ORDER BY a.day, a.workshop_id",
        from,
        to,
        today,
    )?;
    Ok(rows
        .into_iter()
        .map(|r| WorkshopDay {
            day: r.day,
            workshop_id: WorkshopId(r.workshop_id),
            modality: r.modality,
            category_id: InterestId(r.category_id),
            category: r.category,
            enrollments: r.enrollments,
            received: Money::from_decimal(r.received),
            refunded: Money::from_decimal(r.refunded),
        })
        .collect())
}

#[derive(QueryableByName)]
struct WorkshopStandingRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    category_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    modality: String,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = BigInt)]
    capacity: i64,
    #[diesel(sql_type = BigInt)]
    seats_taken: i64,
    #[diesel(sql_type = Numeric)]
    billed: Decimal,
    #[diesel(sql_type = Numeric)]
    paid: Decimal,
    #[diesel(sql_type = Numeric)]
    income: Decimal,
}

/// The workshops starting on a UTC day of `from..=to`, by start, with their enrollments and money
/// as they stand now.
pub fn workshop_standings(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<WorkshopStanding>> {
    let rows: Vec<WorkshopStandingRow> = diesel::sql_query(
        "SELECT w.id, w.name, w.category_id, i.name AS category, w.modality, w.starts_at, w.active,
                w.capacity::bigint AS capacity, e.seats_taken, e.billed, e.paid, m.received - f.refunded AS income
         FROM workshops w
         JOIN interests i ON i.id = w.category_id
         CROSS JOIN LATERAL (
             SELECT count(*) AS seats_taken, coalesce(sum(price - amount_refunded), 0) AS billed,
                    coalesce(sum(amount_paid), 0) AS paid
             FROM enrollments WHERE workshop_id = w.id AND status <> 'cancelled'
         ) e
         CROSS JOIN LATERAL (
             SELECT coalesce(sum(p.amount), 0) AS received
             FROM enrollments en JOIN payments p ON p.enrollment_id = en.id AND p.status IN ('succeeded', 'refunded')
             WHERE en.workshop_id = w.id
         ) m
         CROSS JOIN LATERAL (
             SELECT coalesce(sum(r.amount), 0) AS refunded
             FROM enrollments en
             JOIN payments p ON p.enrollment_id = en.id
             JOIN refunds r ON r.payment_id = p.id AND r.status = 'succeeded'
             WHERE en.workshop_id = w.id
         ) f
         WHERE w.starts_at >= ($1::date::timestamp AT TIME ZONE 'UTC')
           AND w.starts_at < (($2::date + 1)::timestamp AT TIME ZONE 'UTC')
         ORDER BY w.starts_at, w.name, w.id",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| WorkshopStanding {
            workshop_id: WorkshopId(r.id),
            name: r.name,
            category_id: InterestId(r.category_id),
            category: r.category,
            modality: r.modality,
            starts_at: r.starts_at,
            active: r.active,
            capacity: r.capacity,
            seats_taken: r.seats_taken,
            billed: Money::from_decimal(r.billed),
            paid: Money::from_decimal(r.paid),
            income: Money::from_decimal(r.income),
        })
        .collect())
}

#[derive(QueryableByName)]
struct DebtorRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = BigInt)]
    enrollments: i64,
    #[diesel(sql_type = Numeric)]
    owed: Decimal,
}

/// The `limit` clients owing most for enrollments now (not cancelled, not paid in full).
pub fn top_debtors(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Debtor>> {
    let rows: Vec<DebtorRow> = diesel::sql_query(
        "SELECT c.id, c.name, c.email, d.enrollments, d.owed
         FROM (
             SELECT client_id, count(*) AS enrollments, sum(price - amount_refunded - amount_paid) AS owed
             FROM enrollments WHERE status IN ('pending_payment', 'partially_paid')
             GROUP BY client_id
             ORDER BY owed DESC, client_id
             LIMIT $1
         ) d
         JOIN clients c ON c.id = d.client_id
         ORDER BY d.owed DESC, c.name, c.id",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Debtor {
            client_id: ClientId(r.id),
            name: r.name,
            email: r.email,
            enrollments: r.enrollments,
            owed: Money::from_decimal(r.owed),
        })
        .collect())
}
