//! Client statistics, each part computed by its own database, kept as a snapshot: computing
//! them means a pass over every client and every document (seconds at a million), so a
//! background job refreshes the snapshot (`STATS_REFRESH_SECS`) and requests read it, with its
//! age. The two stores' disagreements come from the latest reconcile, with its time.

use super::{clock, reconcile, AppResult, AppState};
use crate::domain::client::{ClientKind, Plan};
use crate::domain::view::Degraded;
use crate::store::pg::{clients as repo, jobs};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const JOB: &str = "client_stats";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindPlanCount {
    pub kind: ClientKind,
    pub plan: Plan,
    pub clients: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentStats {
    /// Live documents in MongoDB (tombstones of deleted clients excluded).
    pub documents: i64,
    /// `documents` as a percentage of all clients, two decimals.
    pub info_coverage_percent: f64,
    pub comments_total: i64,
    pub comments_average_per_client: f64,
}

/// What the latest reconcile found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consistency {
    pub clients_without_document: u64,
    pub orphan_documents: u64,
    /// Whether that run repaired what it found.
    pub repaired: bool,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientStats {
    pub total_clients: i64,
    pub by_kind: BTreeMap<String, i64>,
    pub by_plan: BTreeMap<String, i64>,
    pub by_kind_and_plan: Vec<KindPlanCount>,
    /// `None` when MongoDB did not answer (then `degraded` says so).
    pub documents: Option<DocumentStats>,
    #[serde(skip)]
    pub consistency: Option<Consistency>,
    pub computed_at: DateTime<Utc>,
    pub degraded: Option<DegradedNote>,
}

/// `Degraded`, in a form the snapshot can keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DegradedNote {
    pub missing: Vec<String>,
    pub reason: String,
}

impl From<Degraded> for DegradedNote {
    fn from(d: Degraded) -> Self {
        DegradedNote { missing: d.missing.into_iter().map(str::to_string).collect(), reason: d.reason }
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Computes the statistics now from both stores and keeps them as the snapshot.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refresh(state: &AppState) -> AppResult<ClientStats> {
    let now = clock::now();
    let pg = state.db.run(|conn| Ok(repo::counts_by_kind_and_plan(conn)?));
    let (groups, totals) = tokio::join!(pg, state.info.totals());
    let groups = groups?;
    let mut by_kind = BTreeMap::new();
    let mut by_plan = BTreeMap::new();
    for (kind, plan, count) in &groups {
        *by_kind.entry(kind.as_str().to_string()).or_insert(0) += count;
        *by_plan.entry(plan.as_str().to_string()).or_insert(0) += count;
    }
    let total_clients: i64 = by_kind.values().sum();
    let (documents, degraded) = match totals {
        Ok(totals) => {
            let share = |n: i64| if total_clients == 0 { 0.0 } else { n as f64 / total_clients as f64 };
            (
                Some(DocumentStats {
                    documents: totals.documents,
                    info_coverage_percent: round2(100.0 * share(totals.documents)),
                    comments_total: totals.comments,
                    comments_average_per_client: round2(share(totals.comments)),
                }),
                None,
            )
        }
        Err(err) => {
            tracing::warn!(error = %err, "client stats degraded: MongoDB part missing");
            let reason = super::degraded_reason(&err);
            (None, Some(Degraded { missing: vec!["documents"], reason }.into()))
        }
    };
    let stats = ClientStats {
        total_clients,
        by_kind,
        by_plan,
        by_kind_and_plan: groups
            .into_iter()
            .map(|(kind, plan, clients)| KindPlanCount { kind, plan, clients })
            .collect(),
        documents,
        consistency: None,
        computed_at: now,
        degraded,
    };
    // A degraded snapshot is answered but not kept: the last complete one stays.
    if stats.degraded.is_none() {
        let saved = serde_json::to_string(&stats).unwrap_or_default();
        state.db.run(move |conn| Ok(jobs::save_report(conn, JOB, now, &saved)?)).await?;
    }
    Ok(with_consistency(state, stats).await)
}

/// The latest snapshot (computed now when there is none yet), with the latest reconcile's
/// findings.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clients(state: &AppState) -> AppResult<ClientStats> {
    let saved = state.db.run(|conn| Ok(jobs::last_report(conn, JOB)?)).await?;
    match saved.and_then(|(_, text)| serde_json::from_str::<ClientStats>(&text).ok()) {
        Some(stats) => Ok(with_consistency(state, stats).await),
        None => refresh(state).await,
    }
}

async fn with_consistency(state: &AppState, mut stats: ClientStats) -> ClientStats {
    match reconcile::last(state).await {
        Ok(Some((checked_at, report))) => {
            stats.consistency = Some(Consistency {
                clients_without_document: report.clients_without_document,
                orphan_documents: report.orphan_documents,
                repaired: report.repaired,
                checked_at,
            })
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "reconcile report unavailable for stats"),
    }
    stats
}
