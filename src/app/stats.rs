//! Combined client statistics, each part computed by its own database.

use super::{AppError, AppResult, AppState};
use crate::domain::view::Degraded;
use crate::store::pg::clients as repo;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct KindPlanCount {
    pub kind: String,
    pub plan: String,
    pub clients: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentStats {
    pub clients_with_info_document: i64,
    pub info_coverage_percent: f64,
    pub comments_total: i64,
    pub comments_average_per_client: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientStats {
    pub total_clients: i64,
    pub by_kind: BTreeMap<String, i64>,
    pub by_plan: BTreeMap<String, i64>,
    pub by_kind_and_plan: Vec<KindPlanCount>,
    pub documents: Option<DocumentStats>,
    pub degraded: Option<Degraded>,
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub async fn clients(state: &AppState) -> AppResult<ClientStats> {
    let pg = state.db.run(|conn| Ok::<_, AppError>(repo::counts_by_kind_and_plan(conn)?));
    let (groups, totals) = tokio::join!(pg, state.info.totals());
    let groups = groups?;
    let mut by_kind = BTreeMap::new();
    let mut by_plan = BTreeMap::new();
    for (kind, plan, count) in &groups {
        *by_kind.entry(kind.clone()).or_insert(0) += count;
        *by_plan.entry(plan.clone()).or_insert(0) += count;
    }
    let total_clients: i64 = by_kind.values().sum();
    let (documents, degraded) = match totals {
        Ok(totals) => {
            let with_document = totals.documents.min(total_clients);
            let percent = if total_clients == 0 { 0.0 } else { 100.0 * with_document as f64 / total_clients as f64 };
            let average = if total_clients == 0 { 0.0 } else { totals.comments as f64 / total_clients as f64 };
            (
                Some(DocumentStats {
                    clients_with_info_document: with_document,
                    info_coverage_percent: round2(percent),
                    comments_total: totals.comments,
                    comments_average_per_client: round2(average),
                }),
                None,
            )
        }
        Err(err) => {
            tracing::warn!(error = %err, "client stats degraded: MongoDB part missing");
            (None, Some(Degraded { missing: vec!["documents"], reason: "MongoDB is unavailable".into() }))
        }
    };
    Ok(ClientStats {
        total_clients,
        by_kind,
        by_plan,
        by_kind_and_plan: groups
            .into_iter()
            .map(|(kind, plan, clients)| KindPlanCount { kind, plan, clients })
            .collect(),
        documents,
        degraded,
    })
}
