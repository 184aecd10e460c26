//! Reports, computed where the data lives. Whole past days come from the daily rollups, today and
//! any day changed since its rollup from the base tables, in one snapshot: every figure is exact
//! when it is read. The rollup job (`ROLLUP_INTERVAL_SECS`) only keeps the base-table part small.

use super::{clock, AppError, AppResult, AppState};
use crate::domain::reports::{buckets, total, DailySales, Granularity, Period, PeriodError, SalesBucket};
use crate::store::pg::reports as repo;
use chrono::NaiveDate;

/// A period from optional `from`/`to`, or a 422 naming the field at fault.
pub fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Period> {
    Period::new(from, to, clock::now().date_naive()).map_err(|err| match err {
        PeriodError::Reversed => AppError::invalid("from", "period_reversed", "`from` is after `to`"),
        PeriodError::TooLong => AppError::invalid(
            "to",
            "period_too_long",
            format!("a report covers at most {} days", crate::domain::reports::MAX_DAYS),
        ),
    })
}

/// The daily sales of a period, every day present (zeros included).
pub async fn daily_sales(state: &AppState, period: Period) -> AppResult<Vec<DailySales>> {
    let today = clock::now().date_naive();
    state.db.read(move |conn| Ok(repo::daily_sales(conn, period.from, period.to, today)?)).await
}

#[derive(Debug, Clone, PartialEq)]
pub struct SalesReport {
    pub period: Period,
    pub granularity: Granularity,
    pub buckets: Vec<SalesBucket>,
    pub totals: SalesBucket,
}

/// Revenue, orders, units and average order value by day, week or month.
pub async fn sales(state: &AppState, period: Period, granularity: Granularity) -> AppResult<SalesReport> {
    let days = daily_sales(state, period).await?;
    let totals = total(&days, period);
    Ok(SalesReport { period, granularity, buckets: buckets(&days, granularity), totals })
}

/// What one rollup run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupOutcome {
    /// Days written (recomputed or new).
    pub days: i64,
    /// Days before this one were over and settled when the run began.
    pub settled_before: NaiveDate,
}

/// Rolls up every settled day not rolled up yet and every day changed since its rollup; with
/// `from`, rebuilds every settled day from `from` on. Idempotent: a day recomputed gives the
/// same row. Callers run it under the job's lock (one at a time among replicas).
pub async fn roll_up(state: &AppState, from: Option<NaiveDate>) -> AppResult<RollupOutcome> {
    let at = clock::now();
    state
        .db
        .run(move |conn| {
            let settled_before = repo::settled_before(conn)?;
            let start = match from {
                Some(from) => Some(from),
                None => repo::rollup_start(conn)?,
            };
            let days = repo::roll_up(conn, start, settled_before, at)?;
            Ok(RollupOutcome { days, settled_before })
        })
        .await
}
