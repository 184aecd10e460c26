//! Repository functions for `companies`.

use super::models::{CompanyChangeset, CompanyRow};
use super::schema::companies;
use crate::domain::client::{Company, CompanyChanges};
use crate::domain::ids::CompanyId;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, company: &Company) -> QueryResult<Company> {
    diesel::insert_into(companies::table)
        .values(CompanyRow::from(company))
        .returning(CompanyRow::as_returning())
        .get_result(conn)
        .map(Company::from)
}

by_id!(find, lock: companies, CompanyRow, CompanyId => Company, |row| Ok(row.into()));

/// Companies in creation order (ids are UUIDv7) after `after`, at most `limit` rows.
pub fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Company>> {
    let mut query =
        companies::table.select(CompanyRow::as_select()).order(companies::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(companies::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(companies::legal_name.ilike(pattern.clone()).or(companies::tax_id.ilike(pattern)));
    }
    Ok(query.load::<CompanyRow>(conn)?.into_iter().map(Into::into).collect())
}

pub fn update(
    conn: &mut PgConnection,
    id: CompanyId,
    changes: &CompanyChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<Company>> {
    diesel::update(companies::table.find(id.0))
        .set(CompanyChangeset::new(changes, now))
        .returning(CompanyRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|row| row.map(Into::into))
}

/// Deletes the company; the foreign key refuses while clients still reference it.
pub fn delete(conn: &mut PgConnection, id: CompanyId) -> QueryResult<bool> {
    diesel::delete(companies::table.find(id.0)).execute(conn).map(|n| n > 0)
}
