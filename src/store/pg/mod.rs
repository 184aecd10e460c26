//! diesel on PostgreSQL: the pool, the one helper that runs diesel off the async workers,
//! embedded migrations and the repository functions per table.

pub mod catalog;
pub mod clients;
pub mod companies;
pub mod interests;
pub mod models;
pub mod orders;
pub mod schema;
pub mod seed;
pub mod workshops;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be checked out in time: the database is down or saturated.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("a database task panicked")]
    Panicked,
}

/// Shared handle to the pool. Cloning is cheap.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// Two permits per pooled connection. Requests beyond that wait here, in a fair (FIFO) async
    /// queue, instead of as blocked threads racing for r2d2's condition variable — which serves
    /// waiters in no particular order and stretches the latency tail under load. The second
    /// permit keeps a checked-out-next task ready at r2d2, so no connection idles between jobs.
    permits: Arc<Semaphore>,
    checkout_timeout: Duration,
}

impl Db {
    /// Builds the pool without connecting: the server starts even when PostgreSQL is late.
    pub fn new(database_url: &str, size: u32, checkout_timeout: Duration) -> anyhow::Result<Self> {
        let manager = ConnectionManager::<PgConnection>::new(database_url);
        // Connections are opened on demand (min_idle 0): r2d2 would otherwise open them on
        // background threads at once, and a short command (migrate, seed) exiting while libpq is
        // still connecting on another thread crashes in libpq's TLS/Kerberos teardown.
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(checkout_timeout)
            .test_on_check_out(false)
            .build_unchecked(manager);
        Ok(Db { pool, permits: Arc::new(Semaphore::new(2 * size as usize)), checkout_timeout })
    }

    fn checkout(pool: &PgPool) -> Result<PooledConnection<ConnectionManager<PgConnection>>, DbError> {
        pool.get().map_err(|err| DbError::Unavailable(err.to_string()))
    }

    /// Runs one unit of database work on the blocking pool. The connection is checked out
    /// inside the closure and returned before the future resolves, so no connection is ever
    /// held across an `.await`; the caller's tracing span is re-entered on the blocking thread.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let permit = tokio::time::timeout(self.checkout_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| E::from(DbError::Unavailable("no database connection was free in time".into())))?
            .map_err(|_| E::from(DbError::Unavailable("the connection pool is closed".into())))?;
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let _permit = permit;
            let mut conn = Self::checkout(&pool)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::Panicked))?
    }

    /// Applies pending migrations; returns the names of those applied.
    pub async fn migrate(&self) -> anyhow::Result<Vec<String>> {
        self.run(|conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(|v| v.to_string()).collect())
                .map_err(|err| anyhow::anyhow!("running migrations failed: {err}"))
        })
        .await
    }

    /// `SELECT 1` for readiness.
    pub async fn ping(&self) -> Result<(), DbError> {
        use diesel::RunQueryDsl;
        self.run(|conn| diesel::sql_query("SELECT 1").execute(conn).map(|_| ()).map_err(DbError::from)).await
    }
}

/// The constraint a unique/foreign-key/check violation names, if the error is one.
pub fn violated_constraint(err: &diesel::result::Error) -> Option<(ViolationKind, String)> {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(kind, info) => {
            let kind = match kind {
                DatabaseErrorKind::UniqueViolation => ViolationKind::Unique,
                DatabaseErrorKind::ForeignKeyViolation => ViolationKind::ForeignKey,
                DatabaseErrorKind::CheckViolation => ViolationKind::Check,
                _ => return None,
            };
            Some((kind, info.constraint_name().unwrap_or_default().to_string()))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    Unique,
    ForeignKey,
    Check,
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `ILIKE '%…%'`.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
