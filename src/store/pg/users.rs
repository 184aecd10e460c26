//! Repository functions for `users`; the table's rows (private to the store) and their
//! conversions to domain types follow them. The password hash leaves this module only for
//! verification (`password_hash`), never inside a `User`.

use super::lower;
use super::parse_text;
use super::schema::users;
use crate::domain::access::Role;
use crate::domain::ids::UserId;
use crate::domain::users::{User, UserChanges};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, user: &User) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(user.id.0),
            users::name.eq(&user.name),
            users::email.eq(&user.email),
            users::role.eq(user.role.as_str()),
            users::active.eq(user.active),
            users::created_at.eq(user.created_at),
            users::updated_at.eq(user.updated_at),
        ))
        .returning(UserRow::as_returning())
        .get_result::<UserRow>(conn)?
        .into_domain()
}

by_id!(find, lock: users, UserRow, UserId => User, UserRow::into_domain);

/// The user with this email (regardless of case) and their password hash, if any.
pub fn find_for_sign_in(conn: &mut PgConnection, email: &str) -> QueryResult<Option<(User, Option<String>)>> {
    users::table
        .filter(lower(users::email).eq(lower(email)))
        .select((UserRow::as_select(), users::password_hash))
        .first::<(UserRow, Option<String>)>(conn)
        .optional()?
        .map(|(row, hash)| Ok((row.into_domain()?, hash)))
        .transpose()
}

pub fn password_hash(conn: &mut PgConnection, id: UserId) -> QueryResult<Option<String>> {
    users::table.find(id.0).select(users::password_hash).first::<Option<String>>(conn).optional().map(Option::flatten)
}

pub fn set_password(conn: &mut PgConnection, id: UserId, hash: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(users::table.find(id.0))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Users in creation order (ids are UUIDv7) after `after`, at most `limit`.
pub fn list(conn: &mut PgConnection, search: Option<&str>, after: Option<Uuid>, limit: i64) -> QueryResult<Vec<User>> {
    let mut query = users::table.select(UserRow::as_select()).order(users::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(users::name.ilike(pattern.clone()).or(users::email.ilike(pattern)));
    }
    query.load::<UserRow>(conn)?.into_iter().map(UserRow::into_domain).collect()
}

pub fn update(
    conn: &mut PgConnection,
    id: UserId,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<User>> {
    let changeset = UserChangeset {
        name: changes.name.clone(),
        role: changes.role.map(|role| role.as_str()),
        active: changes.active,
        updated_at: now,
    };
    diesel::update(users::table.find(id.0))
        .set(changeset)
        .returning(UserRow::as_returning())
        .get_result::<UserRow>(conn)
        .optional()?
        .map(UserRow::into_domain)
        .transpose()
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(super) struct UserRow {
    id: Uuid,
    name: String,
    email: String,
    role: String,
    #[diesel(select_expression = users::password_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::password_hash>)]
    has_password: bool,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl UserRow {
    fn into_domain(self) -> QueryResult<User> {
        Ok(User {
            id: UserId(self.id),
            role: parse_text("users.role", &self.role, Role::parse)?,
            name: self.name,
            email: self.email,
            has_password: self.has_password,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    name: Option<String>,
    role: Option<&'static str>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}
