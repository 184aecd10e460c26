//! Report figures: daily rollups (`daily_sales`), kept by the rollup job, and the same figures
//! computed from the base tables for the days a rollup cannot answer (see the migration
//! `reports` for why each day is exact). One SQL text computes a day from the base tables, for the
//! rollup and for reports alike, so the two can never disagree on what a figure means.

use crate::domain::money::Money;
use crate::domain::reports::DailySales;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Numeric, Timestamptz};
use rust_decimal::Decimal;

/// The figures of each day in `live_days` (a CTE of the enclosing query, one `day` per row),
/// from the base tables, as the CTE `live`. Orders count on the UTC day they were placed, refunds
/// on the UTC day they completed; cancelled orders count only as cancelled.
const SALES_FROM_BASE: &str = "
    day_orders AS (
        SELECT l.day, o.id, o.status, o.total
        FROM live_days l
        JOIN orders o ON o.created_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                     AND o.created_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
    ),
    order_figures AS (
        SELECT day,
               count(*) FILTER (WHERE status <> 'cancelled') AS orders,
               coalesce(sum(total) FILTER (WHERE status <> 'cancelled'), 0) AS gross,
               count(*) FILTER (WHERE status = 'cancelled') AS cancelled_orders
        FROM day_orders GROUP BY day
    ),
    item_figures AS (
        SELECT d.day, sum(i.quantity) AS items
        FROM day_orders d JOIN order_items i ON i.order_id = d.id
        WHERE d.status <> 'cancelled'
        GROUP BY d.day
    ),
    refund_figures AS (
        SELECT l.day, sum(r.amount) AS refunds
        FROM live_days l
        JOIN refunds r ON r.status = 'succeeded'
                      AND r.completed_at >= (l.day::timestamp AT TIME ZONE 'UTC')
                      AND r.completed_at < ((l.day + 1)::timestamp AT TIME ZONE 'UTC')
        JOIN payments p ON p.id = r.payment_id AND p.subject_type = 'order'
        GROUP BY l.day
    ),
    live AS (
        SELECT l.day,
               coalesce(o.orders, 0)::bigint AS orders,
               coalesce(i.items, 0)::bigint AS items,
               coalesce(o.gross, 0)::numeric(14, 2) AS gross,
               coalesce(r.refunds, 0)::numeric(14, 2) AS refunds,
               coalesce(o.cancelled_orders, 0)::bigint AS cancelled_orders
        FROM live_days l
        LEFT JOIN order_figures o ON o.day = l.day
        LEFT JOIN item_figures i ON i.day = l.day
        LEFT JOIN refund_figures r ON r.day = l.day
    )";

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
        }
    }
}

/// Every day of `from..=to`, zeros included: rolled-up days where the rollup is current (over
/// before `today`, no change noted since), every other day from the base tables. Run it in one
/// snapshot with anything it must agree with.
pub fn daily_sales(
    conn: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Vec<DailySales>> {
    let query = format!(
        "WITH days AS (
            SELECT d::date AS day FROM generate_series($1::date, $2::date, interval '1 day') d
        ),
        rolled AS (
            SELECT s.day, s.orders::bigint AS orders, s.items::bigint AS items, s.gross, s.refunds,
                   s.cancelled_orders::bigint AS cancelled_orders
            FROM daily_sales s
            WHERE s.day BETWEEN $1 AND $2 AND s.day < $3
              AND NOT EXISTS (SELECT 1 FROM report_changes c WHERE c.day = s.day)
        ),
        live_days AS (SELECT day FROM days WHERE day NOT IN (SELECT day FROM rolled)),
        {SALES_FROM_BASE}
        SELECT * FROM rolled
        UNION ALL
        SELECT * FROM live
        ORDER BY day"
    );
    let rows: Vec<DailySalesRow> =
        diesel::sql_query(query).bind::<Date, _>(from).bind::<Date, _>(to).bind::<Date, _>(today).load(conn)?;
    Ok(rows.into_iter().map(DailySales::from).collect())
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

#[derive(QueryableByName)]
struct FirstDay {
    #[diesel(sql_type = Nullable<Date>)]
    day: Option<NaiveDate>,
}

/// Where the periodic rollup goes on from: the day after the last rolled-up one, else the day of
/// the first order or refund (`None`: nothing to roll up yet).
pub fn rollup_start(conn: &mut PgConnection) -> QueryResult<Option<NaiveDate>> {
    diesel::sql_query(
        "SELECT coalesce(
            (SELECT max(day) + 1 FROM daily_sales),
            (SELECT least((SELECT min(created_at) FROM orders), (SELECT min(completed_at) FROM refunds))
                    AT TIME ZONE 'UTC')::date
         ) AS day",
    )
    .get_result::<FirstDay>(conn)
    .map(|first| first.day)
}

#[derive(QueryableByName)]
struct RolledUp {
    #[diesel(sql_type = BigInt)]
    days: i64,
}

/// Rolls up, in one statement (one snapshot), every day of `from..before` and every noted day
/// before `before`, and deletes exactly the notes it saw: a change committed meanwhile keeps its
/// note for the next run. Recomputing a day gives the same row. Returns the days written.
pub fn roll_up(
    conn: &mut PgConnection,
    from: Option<NaiveDate>,
    before: NaiveDate,
    at: chrono::DateTime<chrono::Utc>,
) -> QueryResult<i64> {
    let query = format!(
        "WITH noted AS (DELETE FROM report_changes WHERE day < $2 RETURNING day),
        live_days AS (
            SELECT day FROM noted
            UNION
            SELECT d::date FROM generate_series(coalesce($1::date, $2::date), $2::date - 1, interval '1 day') d
        ),
        {SALES_FROM_BASE},
        written AS (
            INSERT INTO daily_sales (day, orders, items, gross, refunds, cancelled_orders, rolled_up_at)
            SELECT day, orders, items, gross, refunds, cancelled_orders, $3 FROM live
            ON CONFLICT (day) DO UPDATE SET
                orders = excluded.orders, items = excluded.items, gross = excluded.gross,
                refunds = excluded.refunds, cancelled_orders = excluded.cancelled_orders,
                rolled_up_at = excluded.rolled_up_at
            RETURNING day
        )
        SELECT count(*) AS days FROM written"
    );
    diesel::sql_query(query)
        .bind::<Nullable<Date>, _>(from)
        .bind::<Date, _>(before)
        .bind::<Timestamptz, _>(at)
        .get_result::<RolledUp>(conn)
        .map(|rolled| rolled.days)
}
