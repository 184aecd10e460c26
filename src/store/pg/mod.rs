//! diesel on PostgreSQL: the pool, the helpers that run diesel off the async workers (`run`,
//! `tx`, `read`), embedded migrations, and the repository functions per table. Rows are private
//! to this module tree: repositories take and return domain types.

/// A resource's `find` and `lock` by id: the row as a domain value, and the same read under
/// `FOR NO KEY UPDATE` for a write that checks the row first (an `If-Match`, a stock movement).
/// `$convert` maps the row (`Result`, as some rows hold text that must parse).
macro_rules! by_id {
    ($find:ident, $lock:ident: $table:ident, $row:ty, $id:ty => $item:ty, $convert:expr) => {
        pub fn $find(conn: &mut PgConnection, id: $id) -> QueryResult<Option<$item>> {
            $table::table
                .find(id.0)
                .select(<$row>::as_select())
                .first::<$row>(conn)
                .optional()?
                .map($convert)
                .transpose()
        }

        pub fn $lock(conn: &mut PgConnection, id: $id) -> QueryResult<Option<$item>> {
            $table::table
                .find(id.0)
                .select(<$row>::as_select())
                .for_no_key_update()
                .first::<$row>(conn)
                .optional()?
                .map($convert)
                .transpose()
        }
    };
}

pub mod access;
pub mod audit;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod clients;
pub mod companies;
pub mod coupons;
pub mod custom_plan;
pub mod customers;
pub mod enrollments;
pub mod events;
pub mod idempotency;
pub mod interests;
pub mod jobs;
pub mod keyset;
pub mod locks;
pub mod migrations;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod reports;
pub mod schema;
pub mod seed;
pub mod subscriptions;
pub mod users;
pub mod webhooks;
pub mod workshops;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::Connection;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

pub use migrations::MIGRATIONS;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time, or the one in use was lost: PostgreSQL is down,
    /// restarting or saturated.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] DieselError),
    #[error("a database task panicked")]
    Panicked,
}

/// Errors that can say their connection to PostgreSQL was lost, so the pool drops it.
pub trait ConnectionLoss {
    fn is_connection_loss(&self) -> bool;
}

impl ConnectionLoss for DbError {
    fn is_connection_loss(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(err) => lost_connection(err),
            DbError::Panicked => false,
        }
    }
}

/// Whether a diesel error means the connection itself is gone (server stopped or restarted,
/// network cut), as opposed to a statement that failed on a healthy connection.
pub fn lost_connection(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        // The server ends sessions with these messages when it shuts down or is terminated;
        // diesel does not expose SQLSTATE, so the message is what is left to recognise them.
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("terminating connection")
                || message.contains("server closed the connection")
                || message.contains("the database system is shutting down")
                || message.contains("the database system is starting up")
                || message.contains("no connection to the server")
        }
        DieselError::BrokenTransactionManager => true,
        DieselError::RollbackErrorOnCommit { rollback_error, .. } => lost_connection(rollback_error),
        _ => false,
    }
}

/// A pooled connection that remembers the loss generation it was last known good in.
pub struct TrackedConnection {
    conn: PgConnection,
    generation: u64,
    lost: bool,
}

/// r2d2 manager that drops connections known to be lost, and, after any loss was seen, checks
/// older connections with a ping before handing them out (they may have died with the same
/// outage). In the normal case a checkout costs no round trip.
pub struct Manager {
    url: String,
    loss_generation: Arc<AtomicU64>,
}

impl ManageConnection for Manager {
    type Connection = TrackedConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<TrackedConnection, Self::Error> {
        let mut conn = PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        // JIT compilation pays off for long analytic queries, never for this service's: with a
        // million clients a generic plan's cost estimate crosses `jit_above_cost`, and compiling
        // it took 5-100 ms on statements that run in a fraction of one.
        conn.batch_execute("SET jit = off").map_err(diesel::r2d2::Error::QueryError)?;
        Ok(TrackedConnection { conn, generation: self.loss_generation.load(Ordering::Acquire), lost: false })
    }

    fn is_valid(&self, tracked: &mut TrackedConnection) -> Result<(), Self::Error> {
        let current = self.loss_generation.load(Ordering::Acquire);
        if tracked.generation < current {
            tracked.conn.ping().map_err(diesel::r2d2::Error::QueryError)?;
            tracked.generation = current;
        }
        Ok(())
    }

    fn has_broken(&self, tracked: &mut TrackedConnection) -> bool {
        tracked.lost || std::thread::panicking() || tracked.conn.is_broken()
    }
}

type PgPool = Pool<Manager>;

/// How a unit of work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Statements as they come (one statement, or work that manages its own transaction) —
    /// inside a write request, one `READ ONLY` transaction: a request's writes go through `tx`,
    /// which commits them with the request's audit entry and idempotency mark, and a write sent
    /// through `run` fails there instead of bypassing both.
    Plain,
    /// Statements as they come, also inside a request: the request's own bookkeeping (its
    /// idempotency key), which must not wait for or join its unit of work.
    Bookkeeping,
    /// One read-write transaction (`READ COMMITTED`, row locks taken where the rules need them).
    Transaction,
    /// One `REPEATABLE READ READ ONLY` transaction: every statement sees the same snapshot.
    Snapshot,
}

/// Shared handle to the pool; `E` is the error type units of work return (the app's error).
/// Cloning is cheap.
pub struct Db<E> {
    pool: PgPool,
    /// Two permits per pooled connection. Requests beyond that wait here, in a fair (FIFO) async
    /// queue, instead of as blocked threads racing for r2d2's condition variable — which serves
    /// waiters in no particular order and stretches the latency tail under load. The second
    /// permit keeps a checked-out-next task ready at r2d2, so no connection idles between jobs.
    permits: Arc<Semaphore>,
    checkout_timeout: Duration,
    loss_generation: Arc<AtomicU64>,
    /// Woken when a unit of work that wrote events has committed (the sequencer waits on it).
    outbox: Arc<Notify>,
    /// Units of work waiting for a connection (for metrics).
    waiting: Arc<AtomicI64>,
    _error: PhantomData<fn() -> E>,
}

/// Counts a unit of work as waiting until it has a connection (or gave up).
struct WaitingGuard(Arc<AtomicI64>);

impl WaitingGuard {
    fn new(count: Arc<AtomicI64>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        WaitingGuard(count)
    }
}

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pool as metrics show it.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub max_size: u32,
    pub open: u32,
    pub idle: u32,
    pub waiting: i64,
}

impl<E> Clone for Db<E> {
    fn clone(&self) -> Self {
        Db {
            pool: self.pool.clone(),
            permits: self.permits.clone(),
            checkout_timeout: self.checkout_timeout,
            loss_generation: self.loss_generation.clone(),
            outbox: self.outbox.clone(),
            waiting: self.waiting.clone(),
            _error: PhantomData,
        }
    }
}

impl<E> Db<E>
where
    E: From<DbError> + From<DieselError> + ConnectionLoss + Send + 'static,
{
    /// Builds the pool without connecting: the server starts even when PostgreSQL is late.
    pub fn new(database_url: &str, size: u32, checkout_timeout: Duration) -> Self {
        let loss_generation = Arc::new(AtomicU64::new(0));
        let manager = Manager { url: database_url.to_string(), loss_generation: loss_generation.clone() };
        // Connections are opened on demand (min_idle 0): r2d2 would otherwise open them on
        // background threads at once, and a short command (migrate, seed) exiting while libpq is
        // still connecting on another thread crashes in libpq's TLS/Kerberos teardown.
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(checkout_timeout)
            .test_on_check_out(true)
            .build_unchecked(manager);
        Db {
            pool,
            permits: Arc::new(Semaphore::new(2 * size as usize)),
            checkout_timeout,
            loss_generation,
            outbox: Arc::new(Notify::new()),
            waiting: Arc::new(AtomicI64::new(0)),
            _error: PhantomData,
        }
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            max_size: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// Notified after each unit of work that wrote events commits.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Runs work on the blocking pool, statement by statement (no transaction): for one
    /// statement, or for work such as migrations that manages its own. Inside a write request it
    /// may only read (see `Mode::Plain`): writes go through `tx`.
    pub async fn run<T, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        self.execute(Mode::Plain, work).await
    }

    /// A request's bookkeeping outside its unit of work (claiming and completing its
    /// idempotency key).
    pub async fn bookkeeping<T, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        self.execute(Mode::Bookkeeping, work).await
    }

    /// One unit of work: a write and everything it implies commit together or not at all.
    pub async fn tx<T, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        self.execute(Mode::Transaction, work).await
    }

    /// For a request whose change was made only outside PostgreSQL (a MongoDB document): a unit
    /// of work of its own that commits the request's audit entry and idempotency mark. Outside a
    /// request, nothing.
    pub async fn commit_request(&self) -> Result<(), E> {
        if audit::pending_unit().is_none() && idempotency::request_key().is_none() {
            return Ok(());
        }
        self.tx(|_| Ok(())).await
    }

    /// A read of several statements that must agree with each other: one snapshot.
    pub async fn read<T, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        self.execute(Mode::Snapshot, work).await
    }

    /// The connection is checked out inside the blocking task and returned before the future
    /// resolves, so no connection is ever held across an `.await`; the caller's tracing span is
    /// re-entered on the blocking thread. A connection whose work failed because it was lost is
    /// dropped, and every older connection is pinged before its next use.
    async fn execute<T, F>(&self, mode: Mode, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let generation = self.loss_generation.clone();
        let outbox = self.outbox.clone();
        // The unit's span is a child of the caller's (the request's, with its request id, or the
        // worker round's), so whatever is logged inside says what it served.
        // The caller's span is entered on the blocking thread too: the `pg` span is disabled unless
        // debug logging is on, and entering a disabled span would leave the work without context.
        let caller = tracing::Span::current();
        let span = tracing::debug_span!(parent: &caller, "pg", mode = ?mode);
        // A write serving a request with an idempotency key marks the key committed in its own
        // transaction.
        let request_key = if matches!(mode, Mode::Transaction) { idempotency::request_key() } else { None };
        // A write request's audit entry commits with the request's first unit of work.
        let audit_unit = if matches!(mode, Mode::Transaction) { audit::pending_unit() } else { None };
        let in_write_request = matches!(mode, Mode::Plain) && audit::in_request();
        let waiting = WaitingGuard::new(self.waiting.clone());
        let permit = tokio::time::timeout(self.checkout_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| E::from(DbError::Unavailable("no database connection was free in time".into())))?
            .map_err(|_| E::from(DbError::Unavailable("the connection pool is closed".into())))?;
        tokio::task::spawn_blocking(move || {
            let _caller = caller.enter();
            let _entered = span.enter();
            let started = std::time::Instant::now();
            let _permit = permit;
            let checkout = pool.get();
            drop(waiting);
            let mut tracked: PooledConnection<Manager> =
                checkout.map_err(|err| E::from(DbError::Unavailable(err.to_string())))?;
            let conn = &mut tracked.conn;
            events::take_written();
            let outcome = match (mode, request_key) {
                (Mode::Plain, _) if in_write_request => conn.build_transaction().read_only().run(work),
                (Mode::Plain | Mode::Bookkeeping, _) => work(conn),
                (Mode::Transaction, None) => conn.transaction(|conn| {
                    let done = work(conn)?;
                    if let Some(unit) = &audit_unit {
                        audit::insert_in_unit(conn, unit).map_err(E::from)?;
                    }
                    Ok(done)
                }),
                (Mode::Transaction, Some(key)) => {
                    idempotency::begin_unit(key);
                    let outcome = conn.transaction(|conn| {
                        let done = work(conn)?;
                        idempotency::commit_unit(conn).map_err(E::from)?;
                        if let Some(unit) = &audit_unit {
                            audit::insert_in_unit(conn, unit).map_err(E::from)?;
                        }
                        Ok(done)
                    });
                    idempotency::end_unit();
                    outcome
                }
                (Mode::Snapshot, _) => conn.build_transaction().repeatable_read().read_only().run(work),
            };
            if let (Ok(_), Some(unit)) = (&outcome, &audit_unit) {
                audit::mark_committed(unit);
            }
            match &outcome {
                Ok(_) if events::take_written() => outbox.notify_one(),
                Ok(_) => {}
                Err(err) => {
                    events::take_written();
                    if err.is_connection_loss() {
                        tracked.lost = true;
                        generation.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }
            tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, ok = outcome.is_ok(), "unit of work");
            outcome
        })
        .await
        .map_err(|_| E::from(DbError::Panicked))?
    }

    /// Applies pending migrations and the replaceable schema (`migrations::apply`); returns the
    /// names of the migrations applied.
    pub async fn migrate(&self) -> anyhow::Result<Vec<String>>
    where
        E: std::error::Error + Sync,
    {
        let applied = self
            .run(|conn| {
                migrations::apply(conn)
                    .map_err(|err| E::from(DbError::Unavailable(format!("running migrations failed: {err}"))))
            })
            .await?;
        Ok(applied)
    }

    /// `SELECT 1` for readiness.
    pub async fn ping(&self) -> Result<(), E> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(E::from)).await
    }
}

/// What a refused write violated, and which side of a foreign key it was on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    Unique(String),
    Check(String),
    /// An insert or update named a row that does not exist (the child side of a foreign key).
    MissingReference(String),
    /// A delete or key update hit rows that still reference it (the parent side).
    StillReferenced(String),
}

impl Violation {
    pub fn constraint(&self) -> &str {
        match self {
            Violation::Unique(name)
            | Violation::Check(name)
            | Violation::MissingReference(name)
            | Violation::StillReferenced(name) => name,
        }
    }
}

/// The constraint a unique/foreign-key/check violation names, if the error is one.
pub fn violation(err: &DieselError) -> Option<Violation> {
    let DieselError::DatabaseError(kind, info) = err else {
        return None;
    };
    let name = info.constraint_name()?.to_string();
    Some(match kind {
        DatabaseErrorKind::UniqueViolation => Violation::Unique(name),
        DatabaseErrorKind::CheckViolation => Violation::Check(name),
        // PostgreSQL words the two sides differently: "insert or update on table … violates
        // foreign key constraint" (child) and "update or delete on table …" (parent).
        DatabaseErrorKind::ForeignKeyViolation if info.message().starts_with("update or delete") => {
            Violation::StillReferenced(name)
        }
        DatabaseErrorKind::ForeignKeyViolation => Violation::MissingReference(name),
        _ => return None,
    })
}

diesel::define_sql_function!(
    /// PostgreSQL's `lower`: text compared regardless of case is lowered on both sides by the
    /// database, with one notion of case.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text
);

/// Escapes `%`, `_` and `\` so user text matches literally inside `LIKE '%…%'`.
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

/// One column of rows, as an array parameter for `unnest(…)` (a batch written in one statement).
pub(crate) fn column<'a, T, U>(rows: &'a [T], field: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}

/// Text stored by a CHECK-constrained column that this build cannot parse: a schema it does not
/// know. Reported as a deserialization error, never guessed.
pub(crate) fn corrupt(column: &str, value: &str) -> DieselError {
    DieselError::DeserializationError(format!("{column} holds unknown value {value:?}").into())
}

pub(crate) fn parse_text<T>(column: &str, value: &str, parse: fn(&str) -> Option<T>) -> diesel::QueryResult<T> {
    parse(value).ok_or_else(|| corrupt(column, value))
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
