//! Finds and repairs disagreements between the two stores: clients without a live document get
//! an empty one; live documents without a client become tombstones; tombstones older than an
//! hour are purged.
//!
//! It pages through PostgreSQL's clients, looking each page up in MongoDB by id, then makes one
//! unordered pass over MongoDB's live documents, looking each batch up in PostgreSQL — lookups by
//! id and one scan, never a sort (see docs/BENCHMARKS.md, issue 7), so memory stays flat at any
//! size. It is safe while the API serves: a client created in the last minute is not judged (its
//! document may still be on its way), a document is an orphan only once PostgreSQL confirmed its
//! client is gone, and both repairs are idempotent and respect tombstones. The server runs it
//! periodically (`jobs`); `hybrid-crm reconcile` runs it once.

use super::{clock, AppResult, AppState};
use crate::domain::ids::ClientId;
use crate::store::mongo::InfoError;
use crate::store::pg::{clients as repo, jobs};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

/// Ids per batch: small enough that each batch's lookups are a short burst for the stores (the
/// background job rests between them).
const BATCH: i64 = 1_000;
/// Clients younger than this are not judged: their document write may be in flight.
const GRACE: chrono::Duration = chrono::Duration::seconds(60);
/// Tombstones are kept this long, far beyond any request that could race the delete.
const TOMBSTONE_RETENTION: chrono::Duration = chrono::Duration::hours(1);
/// Ids listed in a report (the counts are complete).
const SAMPLE: usize = 20;
pub const JOB: &str = "reconcile";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub clients_checked: u64,
    pub clients_without_document: u64,
    pub orphan_documents: u64,
    /// The first few of each, for the log.
    pub missing_sample: Vec<String>,
    pub orphan_sample: Vec<String>,
    pub repaired: bool,
    pub tombstones_purged: u64,
}

/// Whether a client id (UUIDv7) was minted within `GRACE` of `now`.
fn recent(id: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(created) = Uuid::parse_str(id).ok().and_then(|id| id.get_timestamp()) else {
        return false;
    };
    let (seconds, nanos) = created.to_unix();
    let created = chrono::DateTime::from_timestamp(seconds as i64, nanos).unwrap_or_default();
    now - created < GRACE
}

/// Runs a whole pass at once (`hybrid-crm reconcile`, tests).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(state: &AppState, repair: bool) -> AppResult<ReconcileReport> {
    walk(state, repair, Pace::Full).await
}

/// Runs a pass as the server's periodic job: after each batch it rests three times as long as
/// the batch took, so it never takes more than a quarter of the stores' time from requests.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run_in_background(state: &AppState, repair: bool) -> AppResult<ReconcileReport> {
    walk(state, repair, Pace::Quarter).await
}

#[derive(Clone, Copy)]
enum Pace {
    Full,
    Quarter,
}

impl Pace {
    async fn rest_after(self, batch_started: std::time::Instant) {
        if let Pace::Quarter = self {
            tokio::time::sleep(batch_started.elapsed() * 3).await;
        }
    }
}

async fn walk(state: &AppState, repair: bool, pace: Pace) -> AppResult<ReconcileReport> {
    let now = clock::now();
    let mut report = ReconcileReport { repaired: repair, ..Default::default() };
    // Clients without a live document: PostgreSQL's ids a page at a time, each page looked up
    // in MongoDB by id.
    let mut after = None;
    loop {
        let started = std::time::Instant::now();
        let page = state.db.run(move |conn| Ok(repo::ids_after(conn, after, BATCH)?)).await?;
        let Some(&last) = page.last() else { break };
        after = Some(last);
        report.clients_checked += page.len() as u64;
        let clients: Vec<ClientId> = page.iter().copied().map(ClientId).collect();
        let live = state.info.live_among(&clients).await?;
        let missing = clients.iter().filter(|id| !live.contains(id)).map(ToString::to_string).collect();
        settle_missing(state, missing, now, &mut report).await?;
        if (page.len() as i64) < BATCH {
            break;
        }
        pace.rest_after(started).await;
    }
    // Live documents without a client: one pass over MongoDB's live documents, each batch
    // looked up in PostgreSQL.
    let mut documents = state.info.live_client_ids().await?;
    loop {
        let started = std::time::Instant::now();
        let batch = documents.next_batch(BATCH as usize).await?;
        let done = (batch.len() as i64) < BATCH;
        settle_orphans(state, batch, &mut report).await?;
        if done {
            break;
        }
        pace.rest_after(started).await;
    }
    if repair {
        report.tombstones_purged = state.info.purge_tombstones(now - TOMBSTONE_RETENTION).await?;
    }
    let saved = serde_json::to_string(&report).unwrap_or_default();
    state.db.run(move |conn| Ok(jobs::save_report(conn, JOB, now, &saved)?)).await?;
    Ok(report)
}

/// Clients that had no live document when their id came up.
async fn settle_missing(
    state: &AppState,
    ids: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
    report: &mut ReconcileReport,
) -> AppResult<()> {
    for id in ids.into_iter().filter(|id| !recent(id, now)) {
        let Ok(uuid) = Uuid::parse_str(&id) else { continue };
        if report.repaired {
            match state.info.ensure(ClientId(uuid)).await {
                // Deleted meanwhile: the tombstone is the right state.
                Err(InfoError::Deleted) => continue,
                other => other?,
            }
            tracing::warn!(client_id = %id, "reconcile: recreated the missing document");
        }
        report.clients_without_document += 1;
        if report.missing_sample.len() < SAMPLE {
            report.missing_sample.push(id);
        }
    }
    Ok(())
}

/// Live documents whose id PostgreSQL did not list: orphans once PostgreSQL confirms.
async fn settle_orphans(state: &AppState, ids: Vec<String>, report: &mut ReconcileReport) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let parsed: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
    let existing: HashSet<String> = state
        .db
        .run(move |conn| Ok(repo::existing_ids(conn, &parsed)?))
        .await?
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    for id in ids.into_iter().filter(|id| !existing.contains(id)) {
        if report.repaired {
            match Uuid::parse_str(&id) {
                Ok(uuid) => state.info.delete(ClientId(uuid)).await?,
                // Not an id this API wrote: remove the document outright.
                Err(_) => state.info.delete_raw(&id).await?,
            }
            tracing::warn!(client_id = %id, "reconcile: tombstoned an orphan document");
        }
        report.orphan_documents += 1;
        if report.orphan_sample.len() < SAMPLE {
            report.orphan_sample.push(id);
        }
    }
    Ok(())
}

/// The latest reconcile report and when it finished, if any ran.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn last(state: &AppState) -> AppResult<Option<(chrono::DateTime<chrono::Utc>, ReconcileReport)>> {
    let saved = state.db.run(|conn| Ok(jobs::last_report(conn, JOB)?)).await?;
    Ok(saved.and_then(|(at, text)| serde_json::from_str(&text).ok().map(|report| (at, report))))
}
