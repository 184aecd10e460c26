//! Bulk statements used only by the demo-data seeder.

use super::models::{
    CategoryRow, CompanyRow, CouponRow, InterestRow, NewClientInterest, NewClientRow, ProductRow, WorkshopRow,
};
use super::schema::{
    categories, client_interests, clients, companies, coupons, enrollments, interests, orders, products, workshops,
};
use crate::domain::catalog::{Category, Product, StockMovement};
use crate::domain::client::{Client, Company, Interest};
use crate::domain::ids::{CategoryId, ClientId, InterestId, ProductId, WorkshopId};
use crate::domain::orders::Coupon;
use crate::domain::workshops::Workshop;
use diesel::prelude::*;
use uuid::Uuid;

/// Empties every table (but the API keys and the audit log), rollups included: a rolled-up day
/// with no note of a change would otherwise outlive the rows it summed.
pub fn reset(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "TRUNCATE notifications, relay_positions, webhook_attempts, webhook_deliveries, webhook_endpoints, events, workshop_sold_out, idempotency_keys, refunds, payment_steps, payments, subscriptions, workshop_seats, enrollments, workshops, coupon_redemptions, order_status_history, \
         order_items, stock_movements, orders, coupons, products, categories, client_interests, clients, \
         companies, interests, job_reports, report_changes, daily_client_orders, daily_segment_sales, \
         daily_product_sales, daily_payment_methods, daily_workshop_sales, daily_sales",
    )
    .execute(conn)?;
    Ok(())
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
pub fn upsert_workshops(conn: &mut PgConnection, new: &[Workshop]) -> QueryResult<Vec<WorkshopId>> {
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
    let ids: Vec<Uuid> = workshops::table
        .filter(workshops::name.eq_any(names))
        .select(workshops::id)
        .order(workshops::name)
        .load(conn)?;
    Ok(ids.into_iter().map(WorkshopId).collect())
}

pub fn interest_ids(conn: &mut PgConnection) -> QueryResult<Vec<InterestId>> {
    let ids: Vec<Uuid> = interests::table.select(interests::id).order(interests::name).load(conn)?;
    Ok(ids.into_iter().map(InterestId).collect())
}

/// Up to `limit` active clients, a deterministic spread over all of them (orders and
/// enrollments pick buyers from these; at a million clients, loading every id is not needed).
pub fn sample_active_client_ids(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<ClientId>> {
    let ids: Vec<Uuid> = clients::table
        .filter(clients::active.eq(true))
        .select(clients::id)
        .order((diesel::dsl::sql::<diesel::sql_types::Integer>("hashtext(clients.id::text)"), clients::id))
        .limit(limit)
        .load(conn)?;
    Ok(ids.into_iter().map(ClientId).collect())
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
