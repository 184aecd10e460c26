//! Schema changes: the diesel migrations (`migrations/`, applied once each, in order) and the
//! replaceable schema (`sql/replaceable.sql`: every function and trigger, one live definition
//! each), as Lemmy keeps them. The replaceable schema `r` is dropped before pending migrations run
//! (so they may change what its functions read) and created again after them, or whenever the
//! file differs from the one applied (its digest is the schema's comment).

use super::locks;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The functions and triggers, created in schema `r`.
pub const REPLACEABLE: &str = include_str!("../../../sql/replaceable.sql");

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations and, when needed, the replaceable schema; returns the names of the
/// migrations applied. Replicas starting together wait for each other (an advisory lock).
pub fn apply(conn: &mut PgConnection) -> Result<Vec<String>, Failure> {
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(locks::MIGRATIONS)
        .execute(conn)?;
    let outcome = apply_locked(conn);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(locks::MIGRATIONS)
        .execute(conn);
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

fn apply_locked(conn: &mut PgConnection) -> Result<Vec<String>, Failure> {
    let pending = conn.has_pending_migration(MIGRATIONS)?;
    if pending {
        conn.batch_execute("DROP SCHEMA IF EXISTS r CASCADE")?;
    }
    let applied: Vec<String> = conn.run_pending_migrations(MIGRATIONS)?.iter().map(ToString::to_string).collect();
    if pending || applied_digest(conn)?.as_deref() != Some(digest().as_str()) {
        conn.transaction(|conn| {
            conn.batch_execute("DROP SCHEMA IF EXISTS r CASCADE; CREATE SCHEMA r;")?;
            conn.batch_execute(REPLACEABLE)?;
            conn.batch_execute(&format!("COMMENT ON SCHEMA r IS '{}'", digest()))
        })?;
    }
    Ok(applied)
}

/// The replaceable file's SHA-256, in hex.
pub fn digest() -> String {
    let sum = ring::digest::digest(&ring::digest::SHA256, REPLACEABLE.as_bytes());
    sum.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digest of the replaceable schema in place, if there is one.
pub fn applied_digest(conn: &mut PgConnection) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Comment {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        comment: Option<String>,
    }
    let found: Option<Comment> = diesel::sql_query(
        "SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = 'r'",
    )
    .get_result(conn)
    .optional()?;
    Ok(found.and_then(|c| c.comment))
}
