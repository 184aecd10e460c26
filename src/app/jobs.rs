//! Background jobs the server runs: reconcile (`RECONCILE_INTERVAL_SECS`) and the client
//! statistics snapshot (`STATS_REFRESH_SECS`); 0 turns a job off. Each run first takes the job's
//! PostgreSQL advisory lock, on a connection of its own, so among several replicas one runs it
//! at a time and the others skip that round; a replica that dies releases the lock with its
//! session.

use super::{reconcile, stats, AppState};
use crate::store::pg::jobs::{self, JobLock};
use std::future::Future;
use std::time::Duration;

/// Advisory lock keys, one per job.
const RECONCILE_LOCK: i64 = 7_262_101;
const STATS_LOCK: i64 = 7_262_102;

/// Starts the periodic jobs on the current runtime.
pub fn spawn(state: &AppState) {
    let settings = &state.settings;
    if let Some(every) = settings.reconcile_interval {
        let state = state.clone();
        tokio::spawn(periodic("reconcile", RECONCILE_LOCK, every, state, |state| async move {
            let report = reconcile::run(&state, true).await?;
            if report.clients_without_document > 0 || report.orphan_documents > 0 {
                tracing::warn!(
                    missing = report.clients_without_document,
                    orphans = report.orphan_documents,
                    purged = report.tombstones_purged,
                    "reconcile repaired the stores"
                );
            } else {
                tracing::info!(
                    clients = report.clients_checked,
                    purged = report.tombstones_purged,
                    "reconcile: stores agree"
                );
            }
            Ok(())
        }));
    }
    if let Some(every) = settings.stats_refresh_interval {
        let state = state.clone();
        tokio::spawn(periodic("client_stats", STATS_LOCK, every, state, |state| async move {
            stats::refresh(&state).await.map(|_| ())
        }));
    }
}

/// Runs `job` every `every`, when this replica gets the job's lock.
async fn periodic<F, Fut>(name: &'static str, key: i64, every: Duration, state: AppState, job: F)
where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = super::AppResult<()>>,
{
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let url = state.settings.database_url.clone();
        let lock = match tokio::task::spawn_blocking(move || jobs::try_lock(&url, key)).await {
            Ok(Ok(Some(lock))) => lock,
            Ok(Ok(None)) => {
                tracing::debug!(job = name, "another replica runs this job now");
                continue;
            }
            Ok(Err(err)) => {
                tracing::warn!(job = name, error = %err, "job lock unavailable; skipping this round");
                continue;
            }
            Err(_) => continue,
        };
        if let Err(err) = job(state.clone()).await {
            tracing::warn!(job = name, error = %err, "job failed; it runs again next round");
        }
        release(lock).await;
    }
}

/// Closes the lock's connection (which releases the lock) off the async workers.
async fn release(lock: JobLock) {
    let _ = tokio::task::spawn_blocking(move || drop(lock)).await;
}
