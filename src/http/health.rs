//! `/health/live` and `/health/ready` (outside the versioned API, for orchestrators).

use crate::app::{health, AppState};
use crate::http::dto::{HealthResponse, StoreHealth};
use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is up", body = HealthResponse))
)]
#[get("/health/live")]
pub async fn live() -> web::Json<HealthResponse> {
    web::Json(HealthResponse { status: "ok".into(), stores: Vec::new() })
}

#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Both stores answer", body = HealthResponse),
        (status = 503, description = "A store does not answer; `stores` says which", body = HealthResponse),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let stores = health::readiness(&state).await;
    let all_ok = stores.iter().all(|s| s.ok);
    let body = HealthResponse {
        status: if all_ok { "ok" } else { "unavailable" }.into(),
        stores: stores
            .into_iter()
            .map(|s| StoreHealth {
                store: s.store.into(),
                status: if s.ok { "up" } else { "down" }.into(),
                error: s.error,
            })
            .collect(),
    };
    if all_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}
