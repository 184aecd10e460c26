//! Tracing subscriber set-up. Request ids come from `tracing-actix-web` (see `http::build_app`).

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (e.g. a CLI subcommand after another) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The process's Prometheus metrics (`GET /metrics`). Each `AppState` has its own registry, so
/// tests that build several in one process do not mix their counts.
pub struct Metrics {
    registry: prometheus::Registry,
    pub http_duration: prometheus::HistogramVec,
    pub http_in_flight: prometheus::IntGauge,
    pub access_refusals: prometheus::IntCounterVec,
    pub pg_pool: prometheus::IntGaugeVec,
    pub mongodb_duration: prometheus::HistogramVec,
    pub mongodb_failures: prometheus::IntCounterVec,
    pub backlog: prometheus::IntGaugeVec,
    /// Password hashes computed (`hash`: a new password; `verify`: a sign-in or a change, a
    /// decoy's included) and how long each waited for a permit plus ran.
    pub password_hashing: prometheus::HistogramVec,
}

/// Seconds; from a cached read (~1 ms) to a slow report.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        use prometheus::{HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts};
        let registry = prometheus::Registry::new();
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            prometheus::HistogramVec::new(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()), labels)
        };
        let metrics = Metrics {
            http_duration: histogram(
                "http_server_request_duration_seconds",
                "Time to answer an HTTP request, by route template and status (its _count counts requests)",
                &["method", "route", "status"],
            )?,
            http_in_flight: IntGauge::new("http_server_requests_in_flight", "HTTP requests being answered now")?,
            access_refusals: IntCounterVec::new(
                Opts::new("api_access_refusals_total", "Requests refused by the access layer, by reason"),
                &["reason"],
            )?,
            pg_pool: IntGaugeVec::new(
                Opts::new(
                    "postgresql_pool_connections",
                    "PostgreSQL pool: size (max), open, idle, and units of work waiting",
                ),
                &["state"],
            )?,
            mongodb_duration: histogram(
                "mongodb_operation_duration_seconds",
                "Time a MongoDB operation took (within its timeout), by operation",
                &["operation"],
            )?,
            mongodb_failures: IntCounterVec::new(
                Opts::new(
                    "mongodb_operation_failures_total",
                    "MongoDB operations that failed or timed out, by operation",
                ),
                &["operation"],
            )?,
            backlog: IntGaugeVec::new(
                Opts::new("background_backlog", "Work waiting for a background worker, by queue"),
                &["queue"],
            )?,
            password_hashing: histogram(
                "password_hashing_duration_seconds",
                "Time a password hash took, its wait for a permit (AUTH_HASH_CONCURRENCY) included, by operation",
                &["operation"],
            )?,
            registry,
        };
        metrics.registry.register(Box::new(metrics.http_duration.clone()))?;
        metrics.registry.register(Box::new(metrics.http_in_flight.clone()))?;
        metrics.registry.register(Box::new(metrics.access_refusals.clone()))?;
        metrics.registry.register(Box::new(metrics.pg_pool.clone()))?;
        metrics.registry.register(Box::new(metrics.mongodb_duration.clone()))?;
        metrics.registry.register(Box::new(metrics.mongodb_failures.clone()))?;
        metrics.registry.register(Box::new(metrics.backlog.clone()))?;
        metrics.registry.register(Box::new(metrics.password_hashing.clone()))?;
        Ok(metrics)
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        if let Err(err) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %err, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// A finished MongoDB operation of the client-info store.
    pub fn observe_mongodb(&self, operation: &str, took: std::time::Duration, failed: bool) {
        self.mongodb_duration.with_label_values(&[operation]).observe(took.as_secs_f64());
        if failed {
            self.mongodb_failures.with_label_values(&[operation]).inc();
        }
    }
}

/// Each request's root span: the request id (from `tracing-actix-web`) and, once the access
/// layer knows it, the key's id (never the key), so every log line of a request carries both.
/// It records the path without its query (searches carry emails and names) and the client's
/// address from the socket; `X-Forwarded-For` counts only when the socket's peer is one of
/// `TRUSTED_PROXIES` (its last entry: the one that proxy added).
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage as _;
        let request_id = request.extensions().get::<tracing_actix_web::RequestId>().copied();
        let request_id = request_id.map(|id| id.to_string()).unwrap_or_default();
        let trusted = request
            .app_data::<actix_web::web::Data<crate::app::AppState>>()
            .map(|state| state.settings.access.trusted_proxies.clone())
            .unwrap_or_default();
        let client_ip = client_address(request, &trusted).map(|ip| ip.to_string()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %request.path(),
            http.client_ip = %client_ip,
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            key_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
            account_id = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        // One access-log line per request, inside the root span: it carries the request id
        // and the key id.
        if let (true, Ok(response)) = (tracing::enabled!(tracing::Level::INFO), outcome) {
            span.in_scope(|| {
                tracing::info!(
                    method = %response.request().method(),
                    path = response.request().path(),
                    status = response.status().as_u16(),
                    "request answered"
                )
            });
        }
    }
}

/// The caller's address: the socket's peer, or what a trusted proxy says it forwarded for.
pub fn client_address(
    request: &actix_web::dev::ServiceRequest,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    client_address_of(request.peer_addr(), request.headers(), trusted)
}

/// `client_address` from a request's parts (a handler's `HttpRequest` has them too).
pub fn client_address_of(
    peer: Option<std::net::SocketAddr>,
    headers: &actix_web::http::header::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let peer = peer?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers.get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).last();
    forwarded.and_then(|list| list.rsplit(',').next()).and_then(|last| last.trim().parse().ok()).or(Some(peer))
}
