//! Repository functions for `interests`.

use super::models::{InterestChangeset, InterestRow};
use super::schema::interests;
use crate::domain::client::{Interest, InterestChanges};
use crate::domain::ids::InterestId;
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
