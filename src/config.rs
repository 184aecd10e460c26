//! Typed settings from the environment (`.env` is read first when present).
//! Every variable is documented in `.env.example`; a bad value stops the program with a message.

use anyhow::{bail, Context};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database_url: String,
    pub pg_pool_size: u32,
    pub pg_checkout_timeout: Duration,
    pub mongodb_uri: String,
    pub mongodb_db: String,
    pub mongodb_timeout: Duration,
    pub mongodb_pool_size: u32,
    pub workers: usize,
    pub body_limit_bytes: usize,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    /// How often the server reconciles the two stores; `None` (0) turns it off.
    pub reconcile_interval: Option<Duration>,
    /// How often the server refreshes the client statistics snapshot; `None` (0) turns it off.
    pub stats_refresh_interval: Option<Duration>,
    /// How long a payment request waits for the gateway before answering 202.
    pub payment_sync_wait: Duration,
    /// How long the process driving a payment's saga owns it; after that the saga worker (of
    /// any replica) takes it over.
    pub payment_lease: Duration,
    /// How often the saga worker looks for stalled payments and refunds; `None` (0) turns it off.
    pub payment_worker_interval: Option<Duration>,
    /// Attempts per gateway call on transient errors (with doubling backoff from 200 ms).
    pub gateway_attempts: u32,
    /// How long one gateway call may take before it counts as a transient error.
    pub gateway_timeout: Duration,
    /// The payment gateway (`PAYMENT_GATEWAY`): none unless configured.
    pub payment_gateway: crate::outside::gateway::GatewayChoice,
    /// How long the sandbox gateway's `tok_slow` takes.
    pub sandbox_slow: Duration,
    /// How often expired subscriptions become `past_due` and expired idempotency keys go;
    /// `None` (0) turns it off.
    pub billing_interval: Option<Duration>,
    /// How often daily report rollups are brought up to date (`ROLLUP_INTERVAL_SECS`).
    pub rollup_interval: Option<Duration>,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: Duration,
    /// How long a request holds its idempotency key; a retry after that (its process died)
    /// runs again, or is sent to the resource when the first one took effect.
    pub idempotency_lease: Duration,
    /// How often the sequencer looks for events committed by other replicas (it wakes at once
    /// for this process's own); `None` (0) turns the sequencer off.
    pub events_poll_interval: Option<Duration>,
    /// How often the webhook dispatcher looks for due deliveries (it wakes at once when the
    /// sequencer fans events out here); `None` (0) turns it off.
    pub webhook_poll_interval: Option<Duration>,
    /// How long a receiver has to answer one delivery.
    pub webhook_timeout: Duration,
    /// Random text whose SHA-256 seals webhook signing secrets at rest (`WEBHOOK_SECRET_KEY`, 32
    /// characters at least; `serve` refuses to start without it).
    pub webhook_secret_key: Option<String>,
    /// How many webhook endpoints one API key may own (`WEBHOOK_ENDPOINTS_PER_KEY`).
    pub webhook_endpoints_per_key: i64,
    /// The waits before each retry of a failed delivery; after the last, it is given up.
    pub webhook_retry_schedule: Vec<Duration>,
    /// An endpoint whose every delivery failed for this long is disabled.
    pub webhook_disable_after: Duration,
    /// Lets webhooks go to loopback and private networks (never to link-local or cloud
    /// metadata addresses).
    pub webhook_allow_private: bool,
    /// Where notifications are sent (`smtp://host:port`, `smtps://user:password@host`); `None`
    /// writes them to the log (transport `log`).
    pub smtp_url: Option<String>,
    /// The sender of notifications (`Name <address>`).
    pub smtp_from: String,
    /// How long one SMTP exchange may take.
    pub smtp_timeout: Duration,
    /// How often the notification sender looks for due messages; `None` (0) turns it off.
    pub notify_poll_interval: Option<Duration>,
    /// The waits before each retry of a message the SMTP server did not take.
    pub notify_retry_schedule: Vec<Duration>,
    /// NATS server the outbox is relayed to (JetStream); `None` turns the relay off.
    pub nats_url: Option<String>,
    /// The JetStream stream and the subject prefix events are published under.
    pub nats_stream: String,
    pub nats_subject_prefix: String,
    /// API keys, rate limits and browsers.
    pub access: AccessSettings,
}

/// A token bucket: `per_second` tokens refill continuously up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    /// `100/200`: 100 requests a second, bursts of up to 200.
    fn from_str(text: &str) -> Result<Self, String> {
        let (rate, burst) = text.split_once('/').ok_or_else(|| format!("{text:?} is not RATE/BURST"))?;
        let per_second: f64 = rate.trim().parse().map_err(|_| format!("{rate:?} is not a rate"))?;
        let burst: u32 = burst.trim().parse().map_err(|_| format!("{burst:?} is not a burst size"))?;
        if !(per_second > 0.0 && per_second.is_finite()) || burst == 0 {
            return Err(format!("{text:?} must have a positive rate and burst"));
        }
        Ok(RateLimit { per_second, burst })
    }
}

#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// How long a key lookup is reused: a revoked key stops working within this time on every
    /// replica.
    pub key_cache_ttl: Duration,
    /// Per key and staff user, by role name (`custom` for keys with their own scopes), per
    /// customer (`customer`) and per publishable key and address (`publishable`); `default` for
    /// the rest.
    pub rate_limits: Vec<(String, RateLimit)>,
    pub default_rate_limit: RateLimit,
    /// Per client IP, for requests without a valid key.
    pub anonymous_rate_limit: RateLimit,
    /// Exact origins browsers may call the API from (none by default).
    pub cors_allowed_origins: Vec<String>,
    /// How long a write's audit outcome waits to be written with those of other writes.
    pub audit_batch_delay: Duration,
    /// Where `/metrics` is served instead of the API's address (`METRICS_ADDR`, e.g.
    /// `127.0.0.1:9464`); `None` serves it beside the API.
    pub metrics_addr: Option<String>,
    /// How often the background queues are counted for `/metrics` (a scrape runs no query).
    pub metrics_refresh: Duration,
    /// `Strict-Transport-Security: max-age=…` on every response, for a server reached only over
    /// TLS (`HSTS_MAX_AGE_SECS`; unset sends none).
    pub hsts_max_age: Option<u64>,
    /// Proxies whose `X-Forwarded-For` names the client in logs (`TRUSTED_PROXIES`, addresses
    /// separated by commas); anyone else's header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub auth: AuthSettings,
}

/// People's sign-in (`AUTH_*`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long an access token works (`AUTH_ACCESS_MINUTES`, 15).
    pub access_ttl: Duration,
    /// How long a refresh token works; each refresh issues a new one (`AUTH_REFRESH_DAYS`, 14).
    pub refresh_ttl: Duration,
    /// Password-hashing threads (`AUTH_HASH_CONCURRENCY`, default: one per CPU, less one, at
    /// least one): each hash takes ~19 MiB and tens of milliseconds of one, so a sign-in flood
    /// queues here instead of taking every core and the memory.
    pub hash_concurrency: usize,
    /// Failed sign-ins per account and per address allowed before each further failure doubles
    /// the wait (`AUTH_FAILURES_ALLOWED`, 5).
    pub failures_allowed: u32,
    /// The longest wait the doubling reaches (`AUTH_MAX_WAIT_SECS`, 900).
    pub max_wait: Duration,
    /// Where the links mailed to customers point: the storefront's pages, which post the
    /// `token` query parameter to the API (`STORE_LINK_BASE`, `http://127.0.0.1:8080/store`):
    /// `<base>/verify-email?token=…` and `<base>/reset-password?token=…`.
    pub link_base: String,
    /// How long an email-verification link works (`AUTH_VERIFY_HOURS`, 48).
    pub verify_ttl: Duration,
    /// How long a password-reset link works (`AUTH_RESET_MINUTES`, 30; at most 59).
    pub reset_ttl: Duration,
    /// The preference keys customers may set themselves besides `language` and `notifications`
    /// (`STORE_EDITABLE_PREFERENCES`, comma-separated; none by default). Every other key is the
    /// staff's.
    pub editable_preferences: Vec<String>,
    /// How long registering, asking for a password reset and asking for an email change take at
    /// least (`AUTH_ANSWER_FLOOR_MS`, 300): whatever the email's state made them do (a new client,
    /// a link, nothing), their answers come after the same time, so timing tells nobody who has
    /// an account. Their mails go out beside the answer.
    pub answer_floor: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        AuthSettings {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            hash_concurrency: cpus.saturating_sub(1).max(1),
            failures_allowed: 5,
            max_wait: Duration::from_secs(900),
            link_base: "http://127.0.0.1:8080/store".into(),
            verify_ttl: Duration::from_secs(48 * 3600),
            reset_ttl: Duration::from_secs(30 * 60),
            editable_preferences: Vec::new(),
            answer_floor: Duration::from_millis(300),
        }
    }
}

impl AuthSettings {
    fn from_env() -> anyhow::Result<Self> {
        let defaults = AuthSettings::default();
        Ok(AuthSettings {
            access_ttl: Duration::from_secs(parsed::<u64>("AUTH_ACCESS_MINUTES", 15)?.max(1) * 60),
            refresh_ttl: Duration::from_secs(parsed::<u64>("AUTH_REFRESH_DAYS", 14)?.max(1) * 24 * 3600),
            hash_concurrency: parsed("AUTH_HASH_CONCURRENCY", defaults.hash_concurrency)?.max(1),
            failures_allowed: parsed("AUTH_FAILURES_ALLOWED", defaults.failures_allowed)?,
            max_wait: Duration::from_secs(parsed("AUTH_MAX_WAIT_SECS", 900)?.max(1)),
            link_base: var("STORE_LINK_BASE").map_or(defaults.link_base, |base| base.trim_end_matches('/').to_string()),
            verify_ttl: Duration::from_secs(parsed::<u64>("AUTH_VERIFY_HOURS", 48)?.max(1) * 3600),
            // The reset link works for under an hour (its email may sit in an inbox).
            reset_ttl: Duration::from_secs(parsed::<u64>("AUTH_RESET_MINUTES", 30)?.clamp(1, 59) * 60),
            editable_preferences: var("STORE_EDITABLE_PREFERENCES")
                .map(|raw| raw.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            answer_floor: Duration::from_millis(parsed("AUTH_ANSWER_FLOOR_MS", 300)?),
        })
    }
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            key_cache_ttl: Duration::from_secs(5),
            rate_limits: Vec::new(),
            default_rate_limit: RateLimit { per_second: 100.0, burst: 200 },
            anonymous_rate_limit: RateLimit { per_second: 5.0, burst: 20 },
            cors_allowed_origins: Vec::new(),
            audit_batch_delay: Duration::from_millis(10),
            metrics_addr: None,
            metrics_refresh: Duration::from_secs(15),
            hsts_max_age: None,
            trusted_proxies: Vec::new(),
            auth: AuthSettings::default(),
        }
    }
}

impl AccessSettings {
    pub fn rate_limit_for(&self, role: &str) -> RateLimit {
        self.rate_limits.iter().find(|(name, _)| name == role).map_or(self.default_rate_limit, |(_, limit)| *limit)
    }

    fn from_env() -> anyhow::Result<Self> {
        let defaults = AccessSettings::default();
        let mut rate_limits = Vec::new();
        let mut default_rate_limit = defaults.default_rate_limit;
        if let Some(raw) = var("RATE_LIMITS") {
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (role, limit) =
                    part.split_once('=').with_context(|| format!("RATE_LIMITS: {part:?} is not ROLE=RATE/BURST"))?;
                let limit: RateLimit = limit.parse().map_err(|err| anyhow::anyhow!("RATE_LIMITS: {err}"))?;
                match role.trim() {
                    "default" => default_rate_limit = limit,
                    role if ["customer", "publishable"].contains(&role)
                        || crate::domain::access::Role::parse(role).is_some() =>
                    {
                        rate_limits.push((role.to_string(), limit))
                    }
                    other => bail!("RATE_LIMITS: {other:?} is not a role"),
                }
            }
        }
        let cors_allowed_origins: Vec<String> = var("CORS_ALLOWED_ORIGINS")
            .map(|raw| {
                raw.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect()
            })
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            if !crate::domain::access::is_origin(origin) {
                bail!("CORS_ALLOWED_ORIGINS: {origin:?} is not an origin (scheme://host[:port], no path)");
            }
        }
        Ok(AccessSettings {
            key_cache_ttl: Duration::from_secs(parsed("API_KEY_CACHE_SECS", 5)?),
            rate_limits,
            default_rate_limit,
            anonymous_rate_limit: parsed::<RateLimit>("RATE_LIMIT_ANONYMOUS", defaults.anonymous_rate_limit)?,
            cors_allowed_origins,
            audit_batch_delay: Duration::from_millis(parsed("AUDIT_BATCH_MS", 10)?),
            metrics_addr: var("METRICS_ADDR").filter(|addr| !addr.trim().is_empty()),
            metrics_refresh: Duration::from_secs(parsed("METRICS_REFRESH_SECS", 15)?.max(1)),
            hsts_max_age: var("HSTS_MAX_AGE_SECS")
                .map(|raw| {
                    raw.trim().parse::<u64>().with_context(|| format!("HSTS_MAX_AGE_SECS={raw:?} is not seconds"))
                })
                .transpose()?,
            trusted_proxies: var("TRUSTED_PROXIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| part.parse().with_context(|| format!("TRUSTED_PROXIES: {part:?} is not an IP address")))
                .collect::<anyhow::Result<_>>()?,
            auth: AuthSettings::from_env()?,
        })
    }
}

/// Connection strings carry passwords: `Debug` (and so every log line) shows them masked.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &redact_url(&self.database_url))
            .field("pg_pool_size", &self.pg_pool_size)
            .field("pg_checkout_timeout", &self.pg_checkout_timeout)
            .field("mongodb_uri", &redact_url(&self.mongodb_uri))
            .field("mongodb_db", &self.mongodb_db)
            .field("mongodb_timeout", &self.mongodb_timeout)
            .field("mongodb_pool_size", &self.mongodb_pool_size)
            .field("workers", &self.workers)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("log_format", &self.log_format)
            .field("reconcile_interval", &self.reconcile_interval)
            .field("stats_refresh_interval", &self.stats_refresh_interval)
            .field("payment_gateway", &self.payment_gateway)
            .field("webhook_secret_key", &self.webhook_secret_key.as_ref().map(|_| "***"))
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("nats_url", &self.nats_url.as_deref().map(redact_url))
            .field("access", &self.access)
            .finish()
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…` (and any `password=` query value).
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(start) = out.find("password=") {
        let value_start = start + "password=".len();
        let value_end = out[value_start..].find('&').map_or(out.len(), |i| value_start + i);
        out.replace_range(value_start..value_end, "***");
    }
    out
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|err| anyhow::anyhow!("{name}={raw:?} is not valid: {err}")),
    }
}

/// Seconds between runs of a background job; 0 turns it off.
fn every(name: &str, default_secs: u64) -> anyhow::Result<Option<Duration>> {
    let secs: u64 = parsed(name, default_secs)?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Milliseconds between runs of a background task; 0 turns it off.
fn every_ms(name: &str, default_ms: u64) -> anyhow::Result<Option<Duration>> {
    let ms: u64 = parsed(name, default_ms)?;
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

fn millis(name: &str, default_ms: u64) -> anyhow::Result<Duration> {
    let ms: u64 = parsed(name, default_ms)?;
    if ms == 0 {
        bail!("{name} must be greater than 0 milliseconds");
    }
    Ok(Duration::from_millis(ms))
}

/// A comma-separated list of durations such as `5s,30s,5m,2h` (units `ms`, `s`, `m`, `h`).
fn schedule(name: &str, default: &str) -> anyhow::Result<Vec<Duration>> {
    let raw = var(name).unwrap_or_else(|| default.to_string());
    raw.split(',').map(|part| duration(part.trim()).with_context(|| format!("{name}={raw:?} is not valid"))).collect()
}

fn duration(text: &str) -> anyhow::Result<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().with_context(|| format!("{text:?} has no number"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        _ => bail!("{text:?} needs a unit: ms, s, m or h"),
    })
}

impl Settings {
    /// Reads `.env` (if any) and the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        dotenvy::dotenv().ok();
        Self::from_current_env()
    }

    /// Reads only the process environment (tests build settings explicitly instead).
    pub fn from_current_env() -> anyhow::Result<Self> {
        let settings = Settings {
            host: var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: parsed("PORT", 8080)?,
            database_url: var("DATABASE_URL")
                .context("DATABASE_URL is required, e.g. postgres://crm:crm@127.0.0.1:5432/crm")?,
            pg_pool_size: parsed("PG_POOL_SIZE", 16)?,
            pg_checkout_timeout: millis("PG_CHECKOUT_TIMEOUT_MS", 2_000)?,
            mongodb_uri: var("MONGODB_URI").context("MONGODB_URI is required, e.g. mongodb://127.0.0.1:27017")?,
            mongodb_db: var("MONGODB_DB").unwrap_or_else(|| "crm".into()),
            mongodb_timeout: millis("MONGODB_TIMEOUT_MS", 2_000)?,
            mongodb_pool_size: parsed("MONGODB_POOL_SIZE", 32)?,
            workers: parsed("WORKERS", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))?,
            body_limit_bytes: parsed("BODY_LIMIT_BYTES", 64 * 1024)?,
            shutdown_timeout: Duration::from_secs(parsed("SHUTDOWN_TIMEOUT_SECS", 10)?),
            log_format: match var("LOG_FORMAT").as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => bail!("LOG_FORMAT={other:?} is not valid: use pretty or json"),
            },
            reconcile_interval: every("RECONCILE_INTERVAL_SECS", 300)?,
            stats_refresh_interval: every("STATS_REFRESH_SECS", 60)?,
            payment_sync_wait: millis("PAYMENT_SYNC_WAIT_MS", 2_000)?,
            payment_lease: millis("PAYMENT_LEASE_MS", 30_000)?,
            payment_worker_interval: every_ms("PAYMENT_WORKER_INTERVAL_MS", 2_000)?,
            gateway_attempts: parsed("GATEWAY_ATTEMPTS", 3)?,
            gateway_timeout: millis("GATEWAY_TIMEOUT_MS", 10_000)?,
            payment_gateway: parsed("PAYMENT_GATEWAY", crate::outside::gateway::GatewayChoice::None)?,
            sandbox_slow: millis("SANDBOX_SLOW_MS", 3_000)?,
            billing_interval: every("BILLING_INTERVAL_SECS", 300)?,
            rollup_interval: every("ROLLUP_INTERVAL_SECS", 60)?,
            idempotency_ttl: Duration::from_secs(parsed("IDEMPOTENCY_TTL_SECS", 24 * 3600)?),
            idempotency_lease: millis("IDEMPOTENCY_LEASE_MS", 60_000)?,
            events_poll_interval: every_ms("EVENTS_POLL_MS", 500)?,
            webhook_poll_interval: every_ms("WEBHOOK_POLL_MS", 1_000)?,
            webhook_timeout: millis("WEBHOOK_TIMEOUT_MS", 10_000)?,
            webhook_endpoints_per_key: parsed::<i64>("WEBHOOK_ENDPOINTS_PER_KEY", 10)?.max(1),
            webhook_secret_key: var("WEBHOOK_SECRET_KEY").filter(|key| !key.is_empty()),
            webhook_retry_schedule: schedule("WEBHOOK_RETRY_SCHEDULE", "5s,30s,5m,30m,2h,8h")?,
            webhook_disable_after: Duration::from_secs(parsed("WEBHOOK_DISABLE_AFTER_SECS", 3 * 24 * 3600)?),
            webhook_allow_private: parsed("WEBHOOK_ALLOW_PRIVATE", false)?,
            smtp_url: var("SMTP_URL"),
            smtp_from: var("SMTP_FROM").unwrap_or_else(|| "Hybrid CRM <no-reply@hybrid-crm.local>".into()),
            smtp_timeout: millis("SMTP_TIMEOUT_MS", 10_000)?,
            notify_poll_interval: every_ms("NOTIFY_POLL_MS", 1_000)?,
            notify_retry_schedule: schedule("NOTIFY_RETRY_SCHEDULE", "30s,2m,10m,1h,6h")?,
            nats_url: var("NATS_URL"),
            nats_stream: var("NATS_STREAM").unwrap_or_else(|| "CRM_EVENTS".into()),
            nats_subject_prefix: var("NATS_SUBJECT_PREFIX").unwrap_or_else(|| "crm.events".into()),
            access: AccessSettings::from_env()?,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")) {
            bail!("DATABASE_URL must start with postgres:// or postgresql://");
        }
        if !(self.mongodb_uri.starts_with("mongodb://") || self.mongodb_uri.starts_with("mongodb+srv://")) {
            bail!("MONGODB_URI must start with mongodb:// or mongodb+srv://");
        }
        if self.mongodb_db.is_empty() || self.mongodb_db.contains(['/', '\\', '.', ' ', '"', '$']) {
            bail!("MONGODB_DB={:?} is not a valid database name", self.mongodb_db);
        }
        if self.pg_pool_size == 0 || self.mongodb_pool_size == 0 || self.workers == 0 {
            bail!("PG_POOL_SIZE, MONGODB_POOL_SIZE and WORKERS must be at least 1");
        }
        if self.idempotency_lease <= self.payment_sync_wait {
            bail!(
                "IDEMPOTENCY_LEASE_MS must be longer than PAYMENT_SYNC_WAIT_MS (a request holds its key while it runs)"
            );
        }
        if self.gateway_attempts == 0 {
            bail!("GATEWAY_ATTEMPTS must be at least 1");
        }
        if self.payment_lease <= self.gateway_timeout || self.gateway_timeout <= self.sandbox_slow {
            bail!("PAYMENT_LEASE_MS must be longer than GATEWAY_TIMEOUT_MS (a lease outlives a gateway call), and that longer than SANDBOX_SLOW_MS");
        }
        if self.body_limit_bytes < 1024 {
            bail!("BODY_LIMIT_BYTES must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{duration, redact_url};
    use std::time::Duration;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(duration("250ms").ok(), Some(Duration::from_millis(250)));
        assert_eq!(duration("5m").ok(), Some(Duration::from_secs(300)));
        assert_eq!(duration("2h").ok(), Some(Duration::from_secs(7200)));
        assert!(duration("5").is_err() && duration("s").is_err() && duration("5d").is_err());
    }

    #[test]
    fn passwords_in_connection_strings_are_masked() {
        assert_eq!(redact_url("postgres://crm:s3cret@db:5432/crm"), "postgres://crm:***@db:5432/crm");
        assert_eq!(
            redact_url("mongodb://app:p%40ss@mongo:27017/?authSource=admin"),
            "mongodb://app:***@mongo:27017/?authSource=admin"
        );
        assert_eq!(redact_url("postgres://db/crm?user=a&password=b&x=1"), "postgres://db/crm?user=a&password=***&x=1");
        assert_eq!(redact_url("mongodb://127.0.0.1:27017/"), "mongodb://127.0.0.1:27017/");
    }
}
