//! Background jobs the server runs: reconcile (`RECONCILE_INTERVAL_SECS`), the client
//! statistics snapshot (`STATS_REFRESH_SECS`), billing upkeep (`BILLING_INTERVAL_SECS`:
//! lapsed subscriptions become `past_due`, expired idempotency keys go) and the daily report
//! rollups (`ROLLUP_INTERVAL_SECS`); 0 turns a job off.
//! Each run first takes the job's PostgreSQL advisory lock, on a connection of its own, so among
//! several replicas one runs it at a time and the others skip that round; a replica that dies
//! releases the lock with its session.
//!
//! The payment saga worker (`PAYMENT_WORKER_INTERVAL_MS`), the notification sender and the
//! webhook dispatcher (`WEBHOOK_POLL_MS`) need no such lock: they claim rows under leases
//! (payments and notifications with `FOR UPDATE SKIP LOCKED`; deliveries per endpoint, see
//! `app::webhooks`), so every replica runs them. The sequencer (`EVENTS_POLL_MS`) takes a
//! transaction-level advisory lock per round.

use super::{
    events, idempotency, notifications, payments, reconcile, relay, reports, stats, subscriptions, webhooks, AppResult,
    AppState,
};
use crate::store::pg::jobs::{self, JobLock};
use crate::store::pg::locks;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Reconcile,
    ClientStats,
    Billing,
    Rollup,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::Reconcile => "reconcile",
            Job::ClientStats => "client_stats",
            Job::Billing => "billing",
            Job::Rollup => "rollup",
        }
    }

    /// The job's advisory lock key.
    pub fn lock_key(self) -> i64 {
        match self {
            Job::Reconcile => locks::RECONCILE,
            Job::ClientStats => locks::CLIENT_STATS,
            Job::Billing => locks::BILLING,
            Job::Rollup => locks::ROLLUP,
        }
    }

    async fn perform(self, state: &AppState) -> AppResult<()> {
        match self {
            Job::Reconcile => {
                let report = reconcile::run_in_background(state, true).await?;
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
            }
            Job::ClientStats => stats::refresh(state).await.map(|_| ()),
            Job::Billing => {
                let lapsed = subscriptions::lapse(state).await?;
                let expired = idempotency::purge_expired(state).await?;
                let tokens = super::auth::sweep_expired_tokens(state).await?;
                if lapsed > 0 || expired > 0 || tokens > 0 {
                    tracing::info!(lapsed, expired_keys = expired, dead_tokens = tokens, "billing upkeep");
                }
                Ok(())
            }
            Job::Rollup => {
                let outcome = reports::roll_up(state, None).await?;
                if outcome.days > 0 {
                    tracing::info!(days = outcome.days, settled_before = %outcome.settled_before, "report rollups updated");
                }
                Ok(())
            }
        }
    }
}

/// How soon a periodic job that failed runs again: 5 s, then twice as long after each failure in
/// a row, never later than its interval. A start-up reconcile that met a MongoDB timeout is
/// retried within seconds, not after its whole interval.
pub fn retry_delay(failures: u32, every: Duration) -> Duration {
    let first = Duration::from_secs(5);
    first.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1))).min(every)
}

/// What a worker sees of the request to stop: it checks between rounds and while it waits, so a
/// round under way is finished, never cut.
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Waits `wait`; `true` when stopping was asked for meanwhile (or before).
    pub async fn pause(&mut self, wait: Duration) -> bool {
        let asked = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = self.0.wait_for(|stop| *stop) => true,
        };
        asked || *self.0.borrow()
    }

    /// Waits for `signal` or `every`, whichever comes first; `true` when stopping was asked for.
    async fn wake(&mut self, signal: &tokio::sync::Notify, every: Duration) -> bool {
        let asked = tokio::select! {
            _ = tokio::time::timeout(every, signal.notified()) => false,
            _ = self.0.wait_for(|stop| *stop) => true,
        };
        asked || *self.0.borrow()
    }
}

/// The process's background workers, started together by `spawn` and stopped together by
/// `stop`. A worker that panics is logged and started again (after a second), not lost until the
/// process restarts.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Workers {
    fn supervise<F, Fut>(&mut self, name: &'static str, start: F)
    where
        F: Fn(Stop) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut stop = Stop(self.stop.subscribe());
        self.tasks.spawn(async move {
            loop {
                match tokio::spawn(start(stop.clone())).await {
                    Err(err) if err.is_panic() => {
                        tracing::error!(worker = name, "worker panicked; starting it again");
                        if stop.pause(Duration::from_secs(1)).await {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
    }

    /// Asks every worker to stop after its current round and waits for them, at most `within`;
    /// `true` when all stopped in time (the others are left to end with the process).
    pub async fn stop(mut self, within: Duration) -> bool {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        let stopped = tokio::time::timeout(within, all).await.is_ok();
        if !stopped {
            tracing::warn!(running = self.tasks.len(), "workers still busy at the shutdown timeout");
        }
        stopped
    }
}

/// Starts the background workers on the current runtime, under one supervisor.
pub fn spawn(state: &AppState) -> Workers {
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut workers = Workers { stop, tasks: tokio::task::JoinSet::new() };
    for (job, every) in [
        (Job::Reconcile, state.settings.reconcile_interval),
        (Job::ClientStats, state.settings.stats_refresh_interval),
        (Job::Billing, state.settings.billing_interval),
        (Job::Rollup, state.settings.rollup_interval),
    ] {
        if let Some(every) = every {
            let state = state.clone();
            workers.supervise(job.name(), move |stop| periodic(job, every, state.clone(), stop));
        }
    }
    if let Some(every) = state.settings.payment_worker_interval {
        let state = state.clone();
        workers.supervise("saga worker", move |stop| saga_worker(every, state.clone(), stop));
    }
    if let Some(every) = state.settings.events_poll_interval {
        let state = state.clone();
        workers.supervise("sequencer", move |stop| sequencer(every, state.clone(), stop));
    }
    if let Some(every) = state.settings.webhook_poll_interval {
        let state = state.clone();
        workers.supervise("webhook dispatcher", move |stop| webhook_dispatcher(every, state.clone(), stop));
    }
    if let Some(every) = state.settings.notify_poll_interval {
        let state = state.clone();
        workers.supervise("notification sender", move |stop| notification_sender(every, state.clone(), stop));
    }
    if state.settings.nats_url.is_some() {
        let state = state.clone();
        workers.supervise("nats relay", move |stop| nats_relay(state.clone(), stop));
    }
    let indexes = state.clone();
    workers.supervise("mongodb indexes", move |stop| index_setup(indexes.clone(), stop));
    let backlogs = state.clone();
    workers.supervise("backlog counter", move |stop| backlog_counter(backlogs.clone(), stop));
    workers
}

/// MongoDB may be down at start: the server still serves, and indexes are created once it answers.
async fn index_setup(state: AppState, mut stop: Stop) {
    while let Err(err) = state.info.ensure_indexes().await {
        tracing::warn!(error = %err, "MongoDB indexes not ensured yet; retrying in 5 s");
        if stop.pause(Duration::from_secs(5)).await {
            return;
        }
    }
}

/// Relays published events to NATS JetStream: at once when this process published some, and
/// every half second for those other replicas published (or while another replica holds the
/// relay). Connects (and reconnects) on its own, so a late NATS only delays the relay.
async fn nats_relay(state: AppState, mut stop: Stop) {
    let every = Duration::from_millis(500);
    let Some(url) = state.settings.nats_url.clone() else {
        return;
    };
    let relay = loop {
        match relay::Relay::connect(&url, &state.settings.nats_stream, &state.settings.nats_subject_prefix).await {
            Ok(relay) => break relay,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "NATS is not reachable yet; the relay retries");
                if stop.pause(Duration::from_secs(2)).await {
                    return;
                }
            }
        }
    };
    let published = state.signals.published.clone();
    loop {
        let stopping = match relay::relay_once(&state, &relay)
            .instrument(tracing::info_span!("worker", worker = "nats relay"))
            .await
        {
            Ok(Some(n)) if n as i64 > 0 => stop.pause(Duration::ZERO).await,
            Ok(_) => stop.wake(&published, every).await,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "relaying events to NATS failed; retrying");
                stop.pause(every).await
            }
        };
        if stopping {
            return;
        }
    }
}

/// Sends notifications as soon as the sequencer queues them, and every `every` for retries and
/// other replicas' messages; about once a minute it queues the workshop reminders that came due.
async fn notification_sender(every: Duration, state: AppState, stop: Stop) {
    let sweep_every = Duration::from_secs(60);
    let last_sweep: std::sync::Mutex<Option<tokio::time::Instant>> = std::sync::Mutex::new(None);
    let state = &state;
    let last_sweep = &last_sweep;
    worker("notification sender", every, state.signals.notifications.clone(), stop, || async move {
        let due = last_sweep.lock().map(|mut last| {
            let due = last.is_none_or(|at| at.elapsed() >= sweep_every);
            if due {
                *last = Some(tokio::time::Instant::now());
            }
            due
        });
        if due.unwrap_or(true) {
            let queued = notifications::sweep_workshop_reminders(state).await?;
            if queued > 0 {
                tracing::info!(queued, "workshop reminders queued");
            }
        }
        notifications::send_all_due(state).await
    })
    .await
}

/// How long a worker owns what it claims before another may take it over: the slow call it
/// makes (`call_timeout`) twice, and the recording after it.
pub(crate) fn lease_for(call_timeout: Duration) -> Duration {
    call_timeout * 2 + Duration::from_secs(5)
}

/// Runs `round` until it finds nothing to do; returns how much it did (tests and the workers).
pub(crate) async fn until_idle<F, Fut>(mut round: F) -> AppResult<usize>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<usize>>,
{
    let mut total = 0;
    loop {
        let done = round().await?;
        total += done;
        if done == 0 {
            return Ok(total);
        }
    }
}

/// A worker: runs `work` until it is idle, then waits for `signal` or `every`; after a failure
/// it logs and waits `every`. Stops between rounds when asked.
async fn worker<F, Fut>(
    name: &'static str,
    every: Duration,
    signal: Arc<tokio::sync::Notify>,
    mut stop: Stop,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<usize>>,
{
    loop {
        let stopping = match work().instrument(tracing::info_span!("worker", worker = name)).await {
            Ok(_) => stop.wake(&signal, every).await,
            Err(err) => {
                tracing::warn!(worker = name, error = format!("{err:#}"), "worker round failed; retrying");
                stop.pause(every).await
            }
        };
        if stopping {
            return;
        }
    }
}

/// Publishes events as soon as this process commits them, and every `every` for those other
/// replicas commit. Replicas take turns through the sequencer's lock.
async fn sequencer(every: Duration, state: AppState, stop: Stop) {
    worker("sequencer", every, state.db.outbox_signal(), stop, || events::publish_all(&state)).await
}

/// Delivers webhooks as soon as the sequencer queues them, and every `every` for retries that
/// come due and deliveries queued by other replicas.
async fn webhook_dispatcher(every: Duration, state: AppState, stop: Stop) {
    worker("webhook dispatcher", every, state.signals.deliveries.clone(), stop, || webhooks::deliver_all_due(&state))
        .await
}

/// Resumes stalled payment sagas every `every` (their drivers' leases ran out: a killed or
/// restarted server).
async fn saga_worker(every: Duration, state: AppState, mut stop: Stop) {
    loop {
        let started = tokio::time::Instant::now();
        match payments::resume_stalled(&state).instrument(tracing::info_span!("worker", worker = "saga worker")).await {
            Ok(0) => {}
            Ok(claimed) => tracing::info!(claimed, "saga worker resumed stalled payments and refunds"),
            Err(err) => tracing::warn!(error = format!("{err:#}"), "saga worker round failed; it runs again"),
        }
        if stop.pause(every.saturating_sub(started.elapsed())).await {
            return;
        }
    }
}

/// Runs `job` every `every` (from the start of one run to the next), in the rounds where this
/// replica gets the job's lock; after a failure, again after `retry_delay`.
async fn periodic(job: Job, every: Duration, state: AppState, mut stop: Stop) {
    let mut failures = 0;
    loop {
        let started = tokio::time::Instant::now();
        let wait = match run_once(&state, job).instrument(tracing::info_span!("job", job = job.name())).await {
            Ok(ran) => {
                if !ran {
                    tracing::debug!(job = job.name(), "another replica runs this job now");
                }
                failures = 0;
                every.saturating_sub(started.elapsed())
            }
            Err(err) => {
                failures += 1;
                let retry = retry_delay(failures, every);
                tracing::warn!(
                    job = job.name(),
                    error = format!("{err:#}"),
                    retry_in_secs = retry.as_secs(),
                    "job failed"
                );
                retry
            }
        };
        if stop.pause(wait).await {
            return;
        }
    }
}

/// Runs the job once if no other session holds its lock; `false` when one does.
pub async fn run_once(state: &AppState, job: Job) -> AppResult<bool> {
    Ok(locked(state, job, || job.perform(state)).await?.is_some())
}

/// Runs `work` holding the job's lock (as the job itself would); `None` when another session
/// holds it.
pub async fn locked<T, F, Fut>(state: &AppState, job: Job, work: F) -> AppResult<Option<T>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let url = state.settings.database_url.clone();
    let lock = tokio::task::spawn_blocking(move || jobs::try_lock(&url, job.lock_key()))
        .await
        .map_err(|_| super::AppError::Internal(anyhow::anyhow!("the job lock task panicked")))??;
    let Some(lock) = lock else {
        return Ok(None);
    };
    let outcome = work().await;
    release(lock).await;
    outcome.map(Some)
}

/// Closes the lock's connection (which releases the lock) off the async workers.
async fn release(lock: JobLock) {
    let _ = tokio::task::spawn_blocking(move || drop(lock)).await;
}

/// The PostgreSQL pool into the metrics: the pool's own counters, no query (at scrape time).
pub fn observe_pool(state: &AppState) {
    let pool = state.db.pool_state();
    let gauge = &state.metrics.pg_pool;
    gauge.with_label_values(&["max"]).set(i64::from(pool.max_size));
    gauge.with_label_values(&["open"]).set(i64::from(pool.open));
    gauge.with_label_values(&["idle"]).set(i64::from(pool.idle));
    gauge.with_label_values(&["waiting"]).set(pool.waiting);
}

/// Counts the background workers' queues every `METRICS_REFRESH_SECS`, so that a scrape (which
/// anyone who reaches the metrics address can send) costs no query.
async fn backlog_counter(state: AppState, mut stop: Stop) {
    loop {
        observe_backlogs(&state).await;
        if stop.pause(state.settings.access.metrics_refresh).await {
            return;
        }
    }
}

/// The background workers' queues, into the metrics.
pub async fn observe_backlogs(state: &AppState) {
    // Left at their last values when PostgreSQL does not answer.
    match state.db.run(|conn| Ok(crate::store::pg::jobs::backlogs(conn)?)).await {
        Ok(counts) => {
            let gauge = &state.metrics.backlog;
            gauge.with_label_values(&["outbox"]).set(counts.outbox);
            gauge.with_label_values(&["webhook_deliveries"]).set(counts.webhook_deliveries);
            gauge.with_label_values(&["notifications"]).set(counts.notifications);
            gauge.with_label_values(&["payment_sagas"]).set(counts.payment_sagas);
        }
        Err(err) => tracing::debug!(error = %err, "backlogs not counted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_job_is_retried_soon_then_less_often_never_later_than_its_interval() {
        let every = Duration::from_secs(300);
        let delays: Vec<u64> = (1..=8).map(|failures| retry_delay(failures, every).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(retry_delay(3, Duration::from_secs(8)), Duration::from_secs(8));
        assert_eq!(retry_delay(u32::MAX, every), every);
    }
}
