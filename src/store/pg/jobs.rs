//! Background jobs' coordination: one replica at a time runs a singleton job (a session-level
//! advisory lock on a connection of the job's own), and each job's last report is kept in
//! `job_reports` for every replica to read.

use super::schema::job_reports;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// A held advisory lock. It lives on a connection outside the pool, so a long job never takes
/// a connection from requests; dropping the guard closes that connection, which releases the
/// lock — as does a crash, since the session ends with the process.
pub struct JobLock {
    _conn: PgConnection,
}

/// Takes the lock `key` if no other session holds it.
pub fn try_lock(database_url: &str, key: i64) -> QueryResult<Option<JobLock>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let mut conn = PgConnection::establish(database_url)
        .map_err(|err| diesel::result::Error::QueryBuilderError(format!("connecting for a job lock: {err}").into()))?;
    let taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result::<Taken>(&mut conn)?
        .taken;
    Ok(taken.then_some(JobLock { _conn: conn }))
}

/// Keeps the job's latest report (JSON), replacing the previous one.
pub fn save_report(conn: &mut PgConnection, job: &str, finished_at: DateTime<Utc>, report: &str) -> QueryResult<()> {
    diesel::insert_into(job_reports::table)
        .values((job_reports::job.eq(job), job_reports::finished_at.eq(finished_at), job_reports::report.eq(report)))
        .on_conflict(job_reports::job)
        .do_update()
        .set((job_reports::finished_at.eq(finished_at), job_reports::report.eq(report)))
        .execute(conn)
        .map(|_| ())
}

/// The job's latest report and when it finished.
pub fn last_report(conn: &mut PgConnection, job: &str) -> QueryResult<Option<(DateTime<Utc>, String)>> {
    job_reports::table.find(job).select((job_reports::finished_at, job_reports::report)).first(conn).optional()
}

/// Work waiting for the background workers, by queue (each count reads a partial index).
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Backlogs {
    /// Committed events the sequencer has not numbered yet.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub outbox: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub webhook_deliveries: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub notifications: i64,
    /// Payments and refunds whose saga has not finished.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub payment_sagas: i64,
}

/// Open deliveries and notifications are counted by the predicates of their partial indexes
/// (`…_heap_only_claims`), so a metrics scrape reads those indexes, not the tables. A
/// notification finished by a replica of the version before `finished_at` keeps it NULL, hence
/// the status too.
pub fn backlogs(conn: &mut PgConnection) -> QueryResult<Backlogs> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM events WHERE sequence IS NULL) AS outbox, \
                (SELECT count(*) FROM webhook_deliveries WHERE completed_at IS NULL) AS webhook_deliveries, \
                (SELECT count(*) FROM notifications \
                  WHERE finished_at IS NULL AND status IN ('pending', 'sending')) AS notifications, \
                (SELECT count(*) FROM payments WHERE status = 'processing') \
                  + (SELECT count(*) FROM refunds WHERE status = 'processing') AS payment_sagas",
    )
    .get_result(conn)
}
