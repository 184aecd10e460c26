//! Bulk statements used only by the demo-data seeder.

use super::models::{
    CategoryRow, CompanyRow, CouponRow, InterestRow, NewClient, NewClientInterest, NewCompany, NewInterest, ProductRow,
    StockMovementRow, WorkshopRow,
};
use super::schema::{
    categories, client_interests, clients, companies, coupons, enrollments, interests, orders, products, workshops,
};
use diesel::prelude::*;
use uuid::Uuid;

/// Empties every table.
pub fn reset(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "TRUNCATE enrollment_payments, workshop_seats, enrollments, workshops, coupon_redemptions, order_status_history, \
         order_items, stock_movements, orders, coupons, products, categories, client_interests, clients, \
         companies, interests",
    )
    .execute(conn)?;
    Ok(())
}

/// Inserts the companies that do not exist yet and returns all of them by legal name.
pub fn upsert_companies(conn: &mut PgConnection, new: &[NewCompany<'_>]) -> QueryResult<Vec<CompanyRow>> {
    diesel::insert_into(companies::table).values(new).on_conflict_do_nothing().execute(conn)?;
    let names: Vec<&str> = new.iter().map(|c| c.legal_name).collect();
    companies::table
        .filter(companies::legal_name.eq_any(names))
        .select(CompanyRow::as_select())
        .order(companies::legal_name)
        .load(conn)
}

pub fn upsert_interests(conn: &mut PgConnection, new: &[NewInterest<'_>]) -> QueryResult<Vec<InterestRow>> {
    diesel::insert_into(interests::table).values(new).on_conflict_do_nothing().execute(conn)?;
    let names: Vec<&str> = new.iter().map(|i| i.name).collect();
    interests::table
        .filter(interests::name.eq_any(names))
        .select(InterestRow::as_select())
        .order(interests::name)
        .load(conn)
}

/// Inserts clients whose email is not taken yet (and their interests); returns the new ids.
pub fn insert_clients(
    conn: &mut PgConnection,
    new: &[NewClient<'_>],
    links: &[NewClientInterest],
) -> QueryResult<Vec<Uuid>> {
    let mut inserted = Vec::new();
    // PostgreSQL caps bind parameters at 65,535 per statement.
    for chunk in new.chunks(5_000) {
        let ids: Vec<Uuid> = diesel::insert_into(clients::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning(clients::id)
            .get_results(conn)?;
        inserted.extend(ids);
    }
    let fresh: std::collections::HashSet<Uuid> = inserted.iter().copied().collect();
    let fresh_links: Vec<&NewClientInterest> = links.iter().filter(|l| fresh.contains(&l.client_id)).collect();
    for chunk in fresh_links.chunks(10_000) {
        let rows: Vec<NewClientInterest> =
            chunk.iter().map(|l| NewClientInterest { client_id: l.client_id, interest_id: l.interest_id }).collect();
        diesel::insert_into(client_interests::table).values(&rows).on_conflict_do_nothing().execute(conn)?;
    }
    Ok(inserted)
}

/// Inserts categories whose slug is new; returns every seeded category's id in slug order given.
pub fn upsert_categories(conn: &mut PgConnection, rows: &[CategoryRow]) -> QueryResult<Vec<Uuid>> {
    diesel::insert_into(categories::table).values(rows).on_conflict_do_nothing().execute(conn)?;
    let slugs: Vec<&str> = rows.iter().map(|r| r.slug.as_str()).collect();
    categories::table.filter(categories::slug.eq_any(slugs)).select(categories::id).order(categories::slug).load(conn)
}

/// Inserts products whose slug is new, each with its initial stock as an `in` movement (built
/// by `initial`); returns the active seeded products' ids.
pub fn upsert_products(
    conn: &mut PgConnection,
    rows: &[ProductRow],
    initial: impl Fn(Uuid, i32) -> StockMovementRow,
) -> QueryResult<Vec<Uuid>> {
    for chunk in rows.chunks(2_000) {
        let added: Vec<(Uuid, i32)> = diesel::insert_into(products::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .returning((products::id, products::stock))
            .get_results(conn)?;
        let movements: Vec<StockMovementRow> = added.into_iter().map(|(id, stock)| initial(id, stock)).collect();
        super::catalog::insert_movements(conn, &movements)?;
    }
    let slugs: Vec<&str> = rows.iter().map(|r| r.slug.as_str()).collect();
    products::table
        .filter(products::slug.eq_any(slugs))
        .filter(products::active.eq(true))
        .select(products::id)
        .order(products::slug)
        .load(conn)
}

/// Inserts workshops whose name is new, each with its seats; returns every seeded workshop's id.
pub fn upsert_workshops(conn: &mut PgConnection, rows: &[WorkshopRow]) -> QueryResult<Vec<Uuid>> {
    let added: Vec<(Uuid, i32)> = diesel::insert_into(workshops::table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning((workshops::id, workshops::capacity))
        .get_results(conn)?;
    for (id, capacity) in added {
        super::workshops::add_seats(conn, id, capacity)?;
    }
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    workshops::table.filter(workshops::name.eq_any(names)).select(workshops::id).order(workshops::name).load(conn)
}

pub fn interest_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    interests::table.select(interests::id).order(interests::name).load(conn)
}

pub fn active_client_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    clients::table.filter(clients::active.eq(true)).select(clients::id).order(clients::id).load(conn)
}

pub fn order_count(conn: &mut PgConnection) -> QueryResult<usize> {
    orders::table.count().get_result::<i64>(conn).map(|n| n as usize)
}

pub fn enrollment_count(conn: &mut PgConnection) -> QueryResult<usize> {
    enrollments::table.count().get_result::<i64>(conn).map(|n| n as usize)
}

pub fn upsert_coupons(conn: &mut PgConnection, rows: &[CouponRow]) -> QueryResult<()> {
    diesel::insert_into(coupons::table).values(rows).on_conflict_do_nothing().execute(conn).map(|_| ())
}
