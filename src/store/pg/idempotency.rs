//! Idempotency keys (`idempotency_keys`): claimed before a POST runs, marked `committed` by the
//! request's own unit of work (so a key is never unknown once its effect exists), and holding
//! the response once it is known.
//!
//! The unit of work learns its request's key through a task-local (set around the request's
//! handler by the HTTP layer) that `Db::tx` carries onto the blocking thread as a thread-local,
//! where the app can also name a recovery point: the resource a retry is sent to when the
//! response itself was lost with a crashed process.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Int4, Jsonb, Nullable, SmallInt, Text};
use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static REQUEST_KEY: String;
}

thread_local! {
    static UNIT_OF_WORK: RefCell<Option<UnitOfWork>> = const { RefCell::new(None) };
}

struct UnitOfWork {
    key: String,
    recovery_path: Option<String>,
}

/// Runs a request's handler with its idempotency key known to its units of work.
pub async fn scoped<F: Future>(key: String, handler: F) -> F::Output {
    REQUEST_KEY.scope(key, handler).await
}

/// The key of the request this task serves, if it sent one.
pub(super) fn request_key() -> Option<String> {
    REQUEST_KEY.try_with(Clone::clone).ok()
}

/// Called by `Db::tx` on the blocking thread around a unit of work.
pub(super) fn begin_unit(key: String) {
    UNIT_OF_WORK.with(|unit| *unit.borrow_mut() = Some(UnitOfWork { key, recovery_path: None }));
}

pub(super) fn end_unit() {
    UNIT_OF_WORK.with(|unit| *unit.borrow_mut() = None);
}

/// Names the resource a retry of this request should be sent to if its response is lost
/// (`/api/v1/payments/{id}`). Does nothing outside a request with a key.
pub fn recovery_point(path: String) {
    UNIT_OF_WORK.with(|unit| {
        if let Some(unit) = unit.borrow_mut().as_mut() {
            unit.recovery_path = Some(path);
        }
    });
}

/// Marks the key `committed` (with its recovery point) inside the unit of work's transaction.
pub(super) fn commit_unit(conn: &mut PgConnection) -> QueryResult<()> {
    let Some((key, recovery)) =
        UNIT_OF_WORK.with(|unit| unit.borrow().as_ref().map(|u| (u.key.clone(), u.recovery_path.clone())))
    else {
        return Ok(());
    };
    diesel::sql_query(
        "UPDATE idempotency_keys SET state = 'committed', recovery_path = coalesce($2, recovery_path)
          WHERE key = $1 AND state IN ('in_flight', 'committed')",
    )
    .bind::<Text, _>(key)
    .bind::<Nullable<Text>, _>(recovery)
    .execute(conn)?;
    Ok(())
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// `[[name, value], …]`
    pub headers: serde_json::Value,
    pub body: Vec<u8>,
}

/// What a request with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run it: the key is new (or expired, or its first request died before any effect).
    Run,
    /// The same request already completed: replay its response.
    Replay(StoredResponse),
    /// The key was used for a different request (method, path or body).
    Reused,
    /// The first request with the key is still running.
    InUse,
    /// The first request took effect but its process died before its response was kept:
    /// the recovery point, if it named one.
    Recovered(Option<String>),
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = Bool)]
    same_body: bool,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Bool)]
    locked: bool,
    #[diesel(sql_type = Bool)]
    expired: bool,
    #[diesel(sql_type = Nullable<SmallInt>)]
    response_status: Option<i16>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    response_headers: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Bytea>)]
    response_body: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    recovery_path: Option<String>,
}

/// Claims `key` for a request: a new key in one statement (the common case); a completed one is
/// replayed (or refused as reused) from a plain read — a completed key never changes, so
/// replays need no lock and do not queue behind each other; anything else is decided in a
/// transaction that locks the key's row. The request's fingerprint is the SHA-256 of its body,
/// with its method and path.
pub fn claim(
    conn: &mut PgConnection,
    key: &str,
    method: &str,
    path: &str,
    body: &[u8],
    lease: Duration,
    ttl: Duration,
) -> QueryResult<Claim> {
    let new = NewKey { key, method, path, body, lease, ttl };
    if new.insert(conn, false)? {
        return Ok(Claim::Run);
    }
    if let Some(row) = read_key(conn, key, body, false)? {
        if row.state == "completed" && !row.expired {
            return Ok(decide(row, method, path));
        }
    }
    conn.transaction(|conn| claim_existing(conn, &new))
}

/// The key's row, with whether the body is the one it was first used with.
fn read_key(conn: &mut PgConnection, key: &str, body: &[u8], lock: bool) -> QueryResult<Option<KeyRow>> {
    let query = "SELECT method, path, request_hash = encode(sha256($2), 'hex') AS same_body, state,
                        coalesce(locked_until > now(), false) AS locked, expires_at <= now() AS expired,
                        response_status, response_headers, response_body, recovery_path
                   FROM idempotency_keys WHERE key = $1";
    let query = if lock { format!("{query} FOR UPDATE") } else { query.to_string() };
    diesel::sql_query(query).bind::<Text, _>(key).bind::<Bytea, _>(body).get_result(conn).optional()
}

/// What an unexpired key allows for this request; `Run` only where the caller holds its lock
/// and takes the key over.
fn decide(row: KeyRow, method: &str, path: &str) -> Claim {
    if row.method != method || row.path != path || !row.same_body {
        return Claim::Reused;
    }
    match (row.state.as_str(), row.locked) {
        ("completed", _) => Claim::Replay(StoredResponse {
            status: row.response_status.map_or(200, |s| s as u16),
            headers: row.response_headers.unwrap_or_default(),
            body: row.response_body.unwrap_or_default(),
        }),
        (_, true) => Claim::InUse,
        ("committed", false) => Claim::Recovered(row.recovery_path),
        _ => Claim::Run,
    }
}

/// What a request's key row starts as.
struct NewKey<'a> {
    key: &'a str,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    lease: Duration,
    ttl: Duration,
}

impl NewKey<'_> {
    /// Inserts the key `in_flight`; over an existing (expired) row when `replace`. Returns
    /// whether a row was written.
    fn insert(&self, conn: &mut PgConnection, replace: bool) -> QueryResult<bool> {
        let on_conflict = if replace {
            "DO UPDATE SET method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
                 state = 'in_flight', locked_until = excluded.locked_until, response_status = NULL,
                 response_headers = NULL, response_body = NULL, recovery_path = NULL, created_at = now(),
                 expires_at = excluded.expires_at"
        } else {
            "DO NOTHING"
        };
        let written = diesel::sql_query(format!(
            "INSERT INTO idempotency_keys (key, method, path, request_hash, state, locked_until, expires_at)
             VALUES ($1, $2, $3, encode(sha256($4), 'hex'), 'in_flight',
                     now() + make_interval(secs => $5 / 1000.0), now() + make_interval(secs => $6))
             ON CONFLICT (key) {on_conflict}"
        ))
        .bind::<Text, _>(self.key)
        .bind::<Text, _>(self.method)
        .bind::<Text, _>(self.path)
        .bind::<Bytea, _>(self.body)
        .bind::<Int4, _>(millis(self.lease))
        .bind::<Int4, _>(seconds(self.ttl))
        .execute(conn)?;
        Ok(written == 1)
    }
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

fn claim_existing(conn: &mut PgConnection, new: &NewKey) -> QueryResult<Claim> {
    let Some(row) = read_key(conn, new.key, new.body, true)?.filter(|row| !row.expired) else {
        new.insert(conn, true)?;
        return Ok(Claim::Run);
    };
    let claim = decide(row, new.method, new.path);
    if claim == Claim::Run {
        // The first request's process died before its effect: run this one in its place.
        diesel::sql_query(
            "UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $2 / 1000.0) WHERE key = $1",
        )
        .bind::<Text, _>(new.key)
        .bind::<Int4, _>(millis(new.lease))
        .execute(conn)?;
    }
    Ok(claim)
}

/// Keeps the response for replay.
pub fn complete(conn: &mut PgConnection, key: &str, response: &StoredResponse) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE idempotency_keys SET state = 'completed', locked_until = NULL,
                response_status = $2, response_headers = $3, response_body = $4
          WHERE key = $1",
    )
    .bind::<Text, _>(key)
    .bind::<SmallInt, _>(response.status as i16)
    .bind::<Jsonb, _>(&response.headers)
    .bind::<Bytea, _>(&response.body)
    .execute(conn)?;
    Ok(())
}

/// Frees the key of a request that failed with a server error (a retry runs again).
pub fn release(conn: &mut PgConnection, key: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM idempotency_keys WHERE key = $1 AND state <> 'completed'")
        .bind::<Text, _>(key)
        .execute(conn)?;
    Ok(())
}

/// Frees a key whose request did nothing (no unit of work committed under it); `false` when one
/// did, and the key must keep the response.
pub fn release_untouched(conn: &mut PgConnection, key: &str) -> QueryResult<bool> {
    diesel::sql_query("DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_flight'")
        .bind::<Text, _>(key)
        .execute(conn)
        .map(|n| n > 0)
}

/// Forgets expired keys; returns how many.
pub fn purge_expired(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM idempotency_keys WHERE expires_at <= now()").execute(conn)
}
