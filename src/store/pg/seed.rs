//! Bulk statements used only by the demo-data seeder.

use super::models::{CompanyRow, InterestRow, NewClient, NewClientInterest, NewCompany, NewInterest};
use super::schema::{client_interests, clients, companies, interests};
use diesel::prelude::*;
use uuid::Uuid;

/// Empties every table.
pub fn reset(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "TRUNCATE enrollment_payments, enrollments, workshops, coupon_redemptions, order_status_history, \
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
