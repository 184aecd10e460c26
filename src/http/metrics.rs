//! `GET /metrics` (Prometheus text format) and the middleware that counts every request.

use crate::app::{jobs, AppState};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use std::time::Instant;

/// Requests by method, route template (never the raw path: ids would make a series each) and
/// status, with their latency; and how many are in flight.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let route = super::routes::Routed::of(&req).template.unwrap_or_else(|| "unmatched".into());
    // Any token is a method to HTTP: unknown ones share a label, so callers cannot mint series.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
    let started = Instant::now();
    let counters = &state.metrics;
    counters.http_in_flight.inc();
    let outcome = next.call(req).await;
    counters.http_in_flight.dec();
    let status = match &outcome {
        Ok(response) => response.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    let status = status.to_string();
    let labels = [method, &*route, status.as_str()];
    counters.http_duration.with_label_values(&labels).observe(started.elapsed().as_secs_f64());
    outcome.map(ServiceResponse::map_into_boxed_body)
}

/// Marks the app of the listener at `METRICS_ADDR`, the only one that serves the metrics then.
#[derive(Debug, Clone, Copy)]
pub struct MetricsListener;

/// Metrics
///
/// Prometheus text format: `http_server_request_duration_seconds` (a histogram by method, route
/// template and status; its `_count` counts requests),
/// `http_server_requests_in_flight`, `api_access_refusals_total` (by reason),
/// `postgresql_pool_connections` (max, open, idle, waiting), `mongodb_operation_duration_seconds`
/// and `mongodb_operation_failures_total` (by operation), and `background_backlog` (outbox,
/// webhook deliveries, notifications, payment sagas — counted every `METRICS_REFRESH_SECS` in
/// the background: a scrape runs no query). Open, like the health checks: set `METRICS_ADDR` to
/// serve it on an address only the scraper reaches, and the API's address answers 404 here.
#[utoipa::path(
    tag = "health",
    security(()),
    responses((status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn prometheus_metrics(
    state: web::Data<AppState>,
    listener: Option<web::Data<MetricsListener>>,
) -> HttpResponse {
    if state.settings.access.metrics_addr.is_some() && listener.is_none() {
        return super::routes::not_found("/metrics");
    }
    jobs::observe_pool(&state);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render())
}
