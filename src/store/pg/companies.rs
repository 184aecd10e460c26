//! Repository functions for `companies`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::schema::companies;
use crate::domain::companies::{Company, CompanyChanges};
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

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub(super) struct CompanyRow {
    pub id: Uuid,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
            version: row.version,
            id: CompanyId(row.id),
            legal_name: row.legal_name,
            tax_id: row.tax_id,
            address: row.address,
            phone: row.phone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Company> for CompanyRow {
    fn from(c: &Company) -> Self {
        CompanyRow {
            version: c.version,
            id: c.id.0,
            legal_name: c.legal_name.clone(),
            tax_id: c.tax_id.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = companies)]
pub(super) struct CompanyChangeset {
    legal_name: Option<String>,
    tax_id: Option<String>,
    address: Option<Option<String>>,
    phone: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl CompanyChangeset {
    pub fn new(changes: &CompanyChanges, now: DateTime<Utc>) -> Self {
        CompanyChangeset {
            legal_name: changes.legal_name.clone(),
            tax_id: changes.tax_id.clone(),
            address: changes.address.clone(),
            phone: changes.phone.clone(),
            updated_at: now,
        }
    }
}
