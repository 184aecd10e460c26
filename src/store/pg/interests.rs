//! Repository functions for `interests`.

use super::models::{InterestChangeset, InterestRow, NewInterest};
use super::schema::interests;
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, new: &NewInterest<'_>) -> QueryResult<InterestRow> {
    diesel::insert_into(interests::table).values(new).returning(InterestRow::as_returning()).get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<InterestRow>> {
    interests::table.find(id).select(InterestRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(interests::table.find(id))).get_result(conn)
}

/// Interests in creation order (ids are UUIDv7) after `after`, at most `limit` rows.
pub fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<InterestRow>> {
    let mut query =
        interests::table.select(InterestRow::as_select()).order(interests::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(interests::id.gt(after));
    }
    if let Some(text) = search {
        query = query.filter(interests::name.ilike(super::like_pattern(text)));
    }
    query.load(conn)
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &InterestChangeset) -> QueryResult<Option<InterestRow>> {
    diesel::update(interests::table.find(id))
        .set(changes)
        .returning(InterestRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Deletes the interest; the foreign key refuses while clients still reference it.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(interests::table.find(id)).execute(conn).map(|n| n > 0)
}

/// The interests among `ids` that exist, by name.
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<InterestRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    interests::table
        .filter(interests::id.eq_any(ids))
        .select(InterestRow::as_select())
        .order(interests::name.asc())
        .load(conn)
}
