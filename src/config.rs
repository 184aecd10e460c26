//! Typed settings from the environment (`.env` is read first when present).
//! Every variable is documented in `.env.example`; a bad value stops the program with a message.

use anyhow::{bail, Context};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
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

fn millis(name: &str, default_ms: u64) -> anyhow::Result<Duration> {
    let ms: u64 = parsed(name, default_ms)?;
    if ms == 0 {
        bail!("{name} must be greater than 0 milliseconds");
    }
    Ok(Duration::from_millis(ms))
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
        if self.body_limit_bytes < 1024 {
            bail!("BODY_LIMIT_BYTES must be at least 1024");
        }
        Ok(())
    }
}
