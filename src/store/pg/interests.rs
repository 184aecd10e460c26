//! Repository functions for `interests`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::schema::interests;
use crate::domain::ids::InterestId;
use crate::domain::interests::{Interest, InterestChanges};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, interest: &Interest) -> QueryResult<Interest> {
    diesel::insert_into(interests::table)
        .values(InterestRow::from(interest))
        .returning(InterestRow::as_returning())
        .get_result(conn)
        .map(Interest::from)
}

by_id!(find, lock: interests, InterestRow, InterestId => Interest, |row| Ok(row.into()));

/// Interests in creation order (ids are UUIDv7) after `after`, at most `limit` rows.
pub fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Interest>> {
    let mut query =
        interests::table.select(InterestRow::as_select()).order(interests::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(interests::id.gt(after));
    }
    if let Some(text) = search {
        query = query.filter(interests::name.ilike(super::like_pattern(text)));
    }
    Ok(query.load::<InterestRow>(conn)?.into_iter().map(Into::into).collect())
}

pub fn update(
    conn: &mut PgConnection,
    id: InterestId,
    changes: &InterestChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<Interest>> {
    diesel::update(interests::table.find(id.0))
        .set(InterestChangeset::new(changes, now))
        .returning(InterestRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|row| row.map(Into::into))
}

/// Deletes the interest; the foreign key refuses while clients or workshops still reference it.
pub fn delete(conn: &mut PgConnection, id: InterestId) -> QueryResult<bool> {
    diesel::delete(interests::table.find(id.0)).execute(conn).map(|n| n > 0)
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = interests, check_for_backend(diesel::pg::Pg))]
pub(super) struct InterestRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<InterestRow> for Interest {
    fn from(row: InterestRow) -> Self {
        Interest {
            version: row.version,
            id: InterestId(row.id),
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Interest> for InterestRow {
    fn from(i: &Interest) -> Self {
        InterestRow {
            version: i.version,
            id: i.id.0,
            name: i.name.clone(),
            description: i.description.clone(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = interests)]
pub(super) struct InterestChangeset {
    name: Option<String>,
    description: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl InterestChangeset {
    pub fn new(changes: &InterestChanges, now: DateTime<Utc>) -> Self {
        InterestChangeset { name: changes.name.clone(), description: changes.description.clone(), updated_at: now }
    }
}
