//! The HTTP layer (actix-web lives only here): routes, extractors, problem documents, the
//! OpenAPI document and the server.

pub mod access;
pub(crate) mod crud;
pub mod dashboard;
pub mod dto;
pub mod extract;
pub mod headers;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod problem;
mod representation;
pub mod routes;
pub mod spec;
pub mod v1;
pub mod validation;

use crate::app::AppState;
use crate::telemetry;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Service as _;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::HttpMessage as _;
use actix_web::{web, App, HttpResponse, HttpServer};
use routes::RouteTable;
pub use spec::openapi;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// Responses smaller than this are sent uncompressed whatever the caller accepts.
pub const COMPRESS_FROM_BYTES: u64 = 4096;

/// The whole application: API, Swagger UI, problem+json for every framework error.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit = state.settings.body_limit_bytes;
    let origins = headers::CorsOrigins(state.settings.access.cors_allowed_origins.clone());
    let (app, spec) = spec::register(App::new().into_utoipa_app()).split_for_parts();
    let routes = RouteTable::from_spec(&spec);
    let document = spec::finish(spec);
    let operations = access::Operations::from_document(&document);
    app.app_data(state)
        .app_data(web::PayloadConfig::new(body_limit))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .app_data(web::Data::new(routes))
        .app_data(web::Data::new(operations))
        .app_data(web::Data::new(origins))
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .external_urls_from_iter_unchecked([("/api-docs/openapi.json", document)])
                // A pasted key lives only as long as the page: never in the origin's localStorage.
                .config(utoipa_swagger_ui::Config::default().persist_authorization(false)),
        )
        // The front door for people: what this is and where the docs, Swagger UI and the dashboard are.
        .route(
            "/",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
                    .body(include_str!("../../static/index.html"))
            }),
        )
        .route(
            "/swagger-ui",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect().insert_header(("Location", "/swagger-ui/")).finish()
            }),
        )
        .default_service(web::to(routes::fallback))
        .wrap(actix_web::middleware::from_fn(idempotency::middleware))
        .wrap(actix_web::middleware::from_fn(access::middleware))
        .wrap(actix_web::middleware::from_fn(headers::conditional_get))
        // Lists run to tens of kilobytes: callers that accept gzip (mobile clients) get them
        // compressed. Small bodies are not worth the CPU: they are marked `identity` inside the
        // compressor, which then leaves them alone, and the mark is taken off outside it.
        .wrap_fn(|req, srv| {
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                if matches!(response.response().body().size(), BodySize::Sized(n) if n < COMPRESS_FROM_BYTES) {
                    response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("identity"));
                }
                Ok(response)
            }
        })
        .wrap(actix_web::middleware::Compress::default())
        .wrap_fn(|req, srv| {
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                if response.headers().get(header::CONTENT_ENCODING).is_some_and(|v| v == "identity") {
                    response.headers_mut().remove(header::CONTENT_ENCODING);
                }
                Ok(response)
            }
        })
        .wrap(actix_web::middleware::from_fn(headers::cors))
        .wrap(actix_web::middleware::from_fn(headers::security_headers))
        .wrap(actix_web::middleware::from_fn(metrics::middleware))
        // Before anything reads the path: one spelling per path, the one the router matches.
        .wrap(actix_web::middleware::from_fn(routes::normalize))
        .wrap_fn(|req, srv| {
            // Echo the request id of the tracing span so callers can quote it in bug reports.
            let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                    response.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
                }
                Ok(response)
            }
        })
        .wrap(TracingLogger::<telemetry::RequestSpan>::new())
}

/// SIGTERM (how orchestrators stop a process) or SIGINT (Ctrl-C).
async fn stop_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => Ok(()),
        interrupted = tokio::signal::ctrl_c() => interrupted,
    }
}

/// Serves until SIGTERM or SIGINT. Then, within `SHUTDOWN_TIMEOUT_SECS`: the listeners close
/// (no new requests), requests in flight finish, and the workers finish their current round;
/// the last audit outcomes are written and the process exits.
pub async fn serve(state: AppState, workers: crate::app::jobs::Workers) -> anyhow::Result<()> {
    let settings = state.settings.clone();
    let state = web::Data::new(state);
    let app_state = state.clone();
    let server = HttpServer::new(move || build_app(state.clone()))
        // A compressed body goes out in several writes; with Nagle's algorithm the second waits
        // for the ACK of the first, which the client delays (40 ms) — every compressed list
        // took 40 ms longer. Segments go out at once instead.
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .workers(settings.workers)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .disable_signals()
        .bind((settings.host.as_str(), settings.port))?;
    tracing::info!(host = %settings.host, port = settings.port, "listening; Swagger UI at /swagger-ui/");
    let metrics_server = match settings.access.metrics_addr.as_deref() {
        Some(addr) => {
            let state = app_state.clone();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(web::Data::new(metrics::MetricsListener))
                    .service(metrics::prometheus_metrics)
            })
            .workers(1)
            .shutdown_timeout(settings.shutdown_timeout.as_secs())
            .disable_signals()
            .bind(addr)?
            .run();
            tracing::info!(%addr, "metrics served here only");
            Some(server)
        }
        None => None,
    };
    let server = server.run();
    let handles: Vec<_> = std::iter::once(server.handle()).chain(metrics_server.as_ref().map(|m| m.handle())).collect();
    let serving = actix_web::rt::spawn(server);
    let metrics_serving = metrics_server.map(actix_web::rt::spawn);
    stop_signal().await?;
    tracing::info!(
        timeout_secs = settings.shutdown_timeout.as_secs(),
        "stopping: no new requests; finishing requests and workers' rounds"
    );
    let servers = futures_util::future::join_all(handles.iter().map(|handle| handle.stop(true)));
    let (_, finished) = tokio::join!(servers, workers.stop(settings.shutdown_timeout));
    if !finished {
        tracing::warn!("exiting with workers mid-round: what they claimed is taken over when its lease ends");
    }
    serving.await??;
    if let Some(metrics) = metrics_serving {
        metrics.await??;
    }
    // The outcomes of the last requests' writes, still waiting for their batch.
    if let Err(err) = crate::app::access::write_audit_outcomes(&app_state).await {
        tracing::warn!(error = %err, "could not record the outcome of the last writes in the audit log");
    }
    tracing::info!("server stopped");
    Ok(())
}
