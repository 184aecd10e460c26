//! `/api/v1/stats`

use crate::app::stats::{ClientStats, Consistency, DocumentStats, KindPlanCount};
use crate::app::{clock, stats, AppState};
use crate::domain::client::{ClientKind, Plan};
use crate::http::access::Caller;
use crate::http::dto::DegradedResponse;
use crate::http::problem::ApiResult;
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct KindPlanCountResponse {
    pub kind: ClientKind,
    pub plan: Plan,
    pub clients: i64,
}

impl From<KindPlanCount> for KindPlanCountResponse {
    fn from(c: KindPlanCount) -> Self {
        KindPlanCountResponse { kind: c.kind, plan: c.plan, clients: c.clients }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentStatsResponse {
    /// Live client documents in MongoDB (a deleted client's tombstone is not counted).
    pub documents: i64,
    /// `documents` as a percentage of all clients, two decimals.
    #[schema(example = 99.5)]
    pub info_coverage_percent: f64,
    pub comments_total: i64,
    /// Comments per client, two decimals.
    #[schema(example = 1.5)]
    pub comments_average_per_client: f64,
}

impl From<DocumentStats> for DocumentStatsResponse {
    fn from(d: DocumentStats) -> Self {
        DocumentStatsResponse {
            documents: d.documents,
            info_coverage_percent: d.info_coverage_percent,
            comments_total: d.comments_total,
            comments_average_per_client: d.comments_average_per_client,
        }
    }
}

/// What the latest reconcile found between the two stores.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyResponse {
    /// Clients that had no MongoDB document.
    pub clients_without_document: u64,
    /// MongoDB documents whose client does not exist.
    pub orphan_documents: u64,
    /// Whether that run repaired them (the server's periodic runs do).
    pub repaired: bool,
    pub checked_at: DateTime<Utc>,
}

impl From<Consistency> for ConsistencyResponse {
    fn from(c: Consistency) -> Self {
        ConsistencyResponse {
            clients_without_document: c.clients_without_document,
            orphan_documents: c.orphan_documents,
            repaired: c.repaired,
            checked_at: c.checked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientStatsResponse {
    pub total_clients: i64,
    #[schema(example = json!({"b2b": 3, "b2c": 7}))]
    pub by_kind: BTreeMap<String, i64>,
    #[schema(example = json!({"basic": 5, "enterprise": 1, "premium": 4}))]
    pub by_plan: BTreeMap<String, i64>,
    pub by_kind_and_plan: Vec<KindPlanCountResponse>,
    /// MongoDB figures; `null` when MongoDB did not answer.
    pub documents: Option<DocumentStatsResponse>,
    /// Disagreements between the stores at the latest reconcile; `null` before the first one.
    pub consistency: Option<ConsistencyResponse>,
    /// When these figures were computed (a background job refreshes them).
    pub computed_at: DateTime<Utc>,
    /// `computed_at`'s age when this answer was made.
    #[schema(example = 12)]
    pub age_seconds: i64,
    pub degraded: Option<DegradedResponse>,
}

impl From<ClientStats> for ClientStatsResponse {
    fn from(stats: ClientStats) -> Self {
        ClientStatsResponse {
            total_clients: stats.total_clients,
            by_kind: stats.by_kind,
            by_plan: stats.by_plan,
            by_kind_and_plan: stats.by_kind_and_plan.into_iter().map(Into::into).collect(),
            documents: stats.documents.map(Into::into),
            consistency: stats.consistency.map(Into::into),
            age_seconds: (clock::now() - stats.computed_at).num_seconds().max(0),
            computed_at: stats.computed_at,
            degraded: stats.degraded.map(|d| DegradedResponse { missing: d.missing, reason: d.reason }),
        }
    }
}

/// Get client statistics
///
/// Clients by kind and plan (SQL `GROUP BY`), MongoDB document coverage and comments (an
/// aggregation pipeline), and what the latest reconcile found between the two stores. The
/// figures are a snapshot a background job refreshes every `STATS_REFRESH_SECS` (60 by
/// default); `computed_at` and `age_seconds` say how fresh it is. If MongoDB did not answer:
/// `documents: null` and `degraded` set.
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "stats",
    responses((status = 200, description = "Client statistics", body = ClientStatsResponse))
)]
#[get("/stats/clients")]
pub async fn client_stats(_caller: Caller, state: web::Data<AppState>) -> ApiResult<web::Json<ClientStatsResponse>> {
    Ok(web::Json(stats::clients(&state).await?.into()))
}
