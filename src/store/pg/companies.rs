//! Repository functions for `companies`.

use super::models::{CompanyChangeset, CompanyRow, NewCompany};
use super::schema::companies;
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, new: &NewCompany<'_>) -> QueryResult<CompanyRow> {
    diesel::insert_into(companies::table).values(new).returning(CompanyRow::as_returning()).get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<CompanyRow>> {
    companies::table.find(id).select(CompanyRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(companies::table.find(id))).get_result(conn)
}

/// Companies in creation order (ids are UUIDv7) after `after`, at most `limit` rows.
pub fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CompanyRow>> {
    let mut query =
        companies::table.select(CompanyRow::as_select()).order(companies::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(companies::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(companies::legal_name.ilike(pattern.clone()).or(companies::tax_id.ilike(pattern)));
    }
    query.load(conn)
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &CompanyChangeset) -> QueryResult<Option<CompanyRow>> {
    diesel::update(companies::table.find(id))
        .set(changes)
        .returning(CompanyRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Deletes the company; the foreign key refuses while clients still reference it.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(companies::table.find(id)).execute(conn).map(|n| n > 0)
}
