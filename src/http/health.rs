//! `/health/live` and `/health/ready` (outside the versioned API, for orchestrators).

use crate::app::{health, AppState};
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreHealth {
    #[schema(example = "postgresql")]
    pub store: String,
    /// `up` or `down`; why a store is down goes to the server's log.
    #[schema(example = "up")]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` when every store answers, `unavailable` otherwise.
    #[schema(example = "ok")]
    pub status: String,
    /// Each store's state (empty for liveness, which does not look at them).
    pub stores: Vec<StoreHealth>,
}

/// Liveness
///
/// 200 while the process serves requests; it does not look at the stores.
#[utoipa::path(
    tag = "health",
    security(()),
    responses((status = 200, description = "The process is up", body = HealthResponse))
)]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse { status: "ok".into(), stores: Vec::new() })
}

/// Readiness
///
/// 200 when both PostgreSQL and MongoDB answer a ping (each within its timeout), 503 otherwise,
/// with each store `up` or `down`. It takes no credentials: a probe asks nothing else, and no
/// one can use it to learn whether a key is valid.
#[utoipa::path(
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Both stores answer", body = HealthResponse),
        (status = 503, description = "A store does not answer; `stores` says which", body = HealthResponse),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let stores = health::readiness(&state).await;
    let all_up = stores.iter().all(|s| s.up);
    let body = HealthResponse {
        status: if all_up { "ok" } else { "unavailable" }.into(),
        stores: stores
            .into_iter()
            .map(|s| StoreHealth { store: s.store.into(), status: if s.up { "up" } else { "down" }.into() })
            .collect(),
    };
    if all_up {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready).service(super::metrics::prometheus_metrics);
}
