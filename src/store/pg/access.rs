//! API keys (`api_keys`): looked up by the SHA-256 of the secret, never stored in clear.

use super::schema::api_keys;
use crate::domain::access::{ApiKey, KeyKind, NewApiKey, Role, Scope};
use crate::domain::ids::ApiKeyId;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: Uuid,
    kind: String,
    name: String,
    role: String,
    scopes: Vec<String>,
    last_four: String,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    allowed_origins: Vec<String>,
}

impl From<KeyRow> for ApiKey {
    fn from(r: KeyRow) -> Self {
        // The check constraint admits only known roles; an unknown one (a newer replica's) grants
        // nothing rather than failing every request made with the key.
        let role = Role::parse(&r.role).unwrap_or(Role::Custom);
        let scopes = match role {
            Role::Custom => r.scopes.iter().filter_map(|s| s.parse::<Scope>().ok()).collect(),
            named => named.scopes(),
        };
        // Likewise an unknown kind: a publishable key grants nothing beyond the catalog.
        let kind = KeyKind::parse(&r.kind).unwrap_or(KeyKind::Publishable);
        ApiKey {
            id: ApiKeyId(r.id),
            kind,
            name: r.name,
            role,
            scopes,
            last_four: r.last_four,
            expires_at: r.expires_at,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            allowed_origins: r.allowed_origins,
        }
    }
}

pub fn insert_key(
    conn: &mut PgConnection,
    id: ApiKeyId,
    new: &NewApiKey,
    secret_hash: &[u8],
    last_four: &str,
    now: DateTime<Utc>,
) -> QueryResult<ApiKey> {
    let scopes: Vec<String> = new.scopes.iter().map(ToString::to_string).collect();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(id.0),
            api_keys::kind.eq(new.kind.as_str()),
            api_keys::name.eq(&new.name),
            api_keys::role.eq(new.role.as_str()),
            api_keys::scopes.eq(scopes),
            api_keys::secret_hash.eq(secret_hash),
            api_keys::last_four.eq(last_four),
            api_keys::expires_at.eq(new.expires_at),
            api_keys::created_at.eq(now),
            api_keys::allowed_origins.eq(&new.allowed_origins),
        ))
        .returning(KeyRow::as_returning())
        .get_result::<KeyRow>(conn)
        .map(Into::into)
}

pub fn find_key_by_hash(conn: &mut PgConnection, secret_hash: &[u8]) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::secret_hash.eq(secret_hash))
        .select(KeyRow::as_select())
        .first::<KeyRow>(conn)
        .optional()
        .map(|row| row.map(Into::into))
}

pub fn find_key(conn: &mut PgConnection, id: ApiKeyId) -> QueryResult<Option<ApiKey>> {
    api_keys::table.find(id.0).select(KeyRow::as_select()).first::<KeyRow>(conn).optional().map(|r| r.map(Into::into))
}

/// Newest first.
pub fn list_keys(conn: &mut PgConnection, before: Option<Uuid>, limit: i64) -> QueryResult<Vec<ApiKey>> {
    let mut query = api_keys::table.select(KeyRow::as_select()).into_boxed();
    if let Some(before) = before {
        query = query.filter(api_keys::id.lt(before));
    }
    Ok(query.order(api_keys::id.desc()).limit(limit).load::<KeyRow>(conn)?.into_iter().map(Into::into).collect())
}

/// Revokes the key (keeping the first revocation time); the key as it is now, if it exists.
pub fn revoke_key(conn: &mut PgConnection, id: ApiKeyId, now: DateTime<Utc>) -> QueryResult<Option<ApiKey>> {
    diesel::update(api_keys::table.find(id.0))
        .set(
            api_keys::revoked_at.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(
                "COALESCE(revoked_at, ",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(now)
            .sql(")")),
        )
        .returning(KeyRow::as_returning())
        .get_result::<KeyRow>(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// Records use of the key (callers do it at most once a minute per key).
pub fn touch_key(conn: &mut PgConnection, id: ApiKeyId, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id.0)).set(api_keys::last_used_at.eq(now)).execute(conn).map(drop)
}

/// Every origin a usable publishable key names (the storefront's CORS preflights ask for any).
pub fn publishable_origins(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<String>> {
    api_keys::table
        .filter(api_keys::kind.eq(KeyKind::Publishable.as_str()))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
        .select(api_keys::allowed_origins)
        .load::<Vec<String>>(conn)
        .map(|lists| lists.into_iter().flatten().collect())
}
