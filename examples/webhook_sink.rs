//! Webhook receiver for `scripts/bench.sh events`: answers every POST with 204 and records how
//! long after the event's `occurred_at` (taken in the transaction, just before its commit) it
//! arrived. `GET /stats` reports the count and the delay percentiles.
//!
//!     cargo run --release --example webhook_sink -- 127.0.0.1:18099

use actix_web::{web, App, HttpResponse, HttpServer};
use std::sync::Mutex;

#[derive(Default)]
struct Delays(Mutex<Vec<f64>>);

async fn receive(delays: web::Data<Delays>, body: web::Bytes) -> HttpResponse {
    let now = chrono::Utc::now();
    let occurred = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|event| event["occurred_at"].as_str().map(str::to_string))
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(&text).ok());
    if let (Some(occurred), Ok(mut delays)) = (occurred, delays.0.lock()) {
        delays.push((now - occurred.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    HttpResponse::NoContent().finish()
}

async fn stats(delays: web::Data<Delays>) -> HttpResponse {
    let mut sorted = delays.0.lock().map(|d| d.clone()).unwrap_or_default();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    HttpResponse::Ok().json(serde_json::json!({
        "received": sorted.len(), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": at(1.0),
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18099".into());
    let delays = web::Data::new(Delays::default());
    HttpServer::new(move || {
        App::new()
            .app_data(delays.clone())
            .route("/stats", web::get().to(stats))
            .default_service(web::post().to(receive))
    })
    .workers(1)
    .bind(addr)?
    .run()
    .await
}
