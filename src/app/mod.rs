//! Use cases, one module per capability. Typed domain inputs in, domain/view types or
//! `AppError` out; no web framework types and no database rows. The writes every plain resource
//! has (`insert_row`, `update_row`, `delete_row`, with `If-Match` checked by
//! `check_precondition`) are here once; a resource's module holds its own rules.

pub mod access;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod clients;
pub mod clock;
pub mod companies;
pub mod constraints;
pub mod coupons;
pub mod customers;
pub mod enrollments;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod info;
pub mod interests;
pub mod jobs;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod reconcile;
pub mod relay;
pub mod reports;
pub mod sealed;
pub mod seed;
pub mod stats;
pub mod storefront;
pub mod subscriptions;
pub mod timeline;
pub mod users;
pub mod webhooks;
pub mod workshops;

use crate::config::Settings;
use crate::domain::free_form::FieldIssue;
use crate::domain::ids::Resource;
use crate::domain::page::{decode_cursor, CursorError, Page, PageRequest};
use crate::domain::precondition::{Precondition, Tagged};
use crate::outside::gateway::{GatewayChoice, PaymentGateway, Sandbox, Unconfigured};
use crate::store::mongo::{InfoError, InfoStore};
use crate::store::pg::{ConnectionLoss, Db, DbError};
use crate::telemetry::Metrics;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Everything a use case needs; cheap to clone into each worker.
#[derive(Clone)]
pub struct AppState {
    pub db: Db<AppError>,
    pub info: InfoStore,
    pub settings: Arc<Settings>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub webhook_client: reqwest::Client,
    pub mailer: Arc<notifications::Mailer>,
    pub signals: Signals,
    /// Cached key lookups and rate-limit buckets (per process).
    pub callers: Arc<access::CallerCache>,
    /// Audit outcomes of this process's write requests, written in batches.
    pub audit_outcomes: Arc<access::AuditOutcomes>,
    pub metrics: Arc<Metrics>,
    /// Seals webhook signing secrets (`WEBHOOK_SECRET_KEY`); `serve` needs it.
    pub sealer: Option<Arc<sealed::Sealer>>,
    /// Password hashes computed at once (`AUTH_HASH_CONCURRENCY`).
    pub hashing: Arc<auth::HashPool>,
}

/// Wake-ups between the server's background workers (each also polls, for other replicas).
#[derive(Clone, Default)]
pub struct Signals {
    /// The sequencer created webhook deliveries.
    pub deliveries: Arc<tokio::sync::Notify>,
    /// The sequencer queued notifications.
    pub notifications: Arc<tokio::sync::Notify>,
    /// The sequencer published events (for the NATS relay).
    pub published: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub async fn from_settings(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database_url, settings.pg_pool_size, settings.pg_checkout_timeout);
        let metrics = Arc::new(Metrics::new()?);
        let observer = metrics.clone();
        let info = InfoStore::connect(
            &settings.mongodb_uri,
            &settings.mongodb_db,
            settings.mongodb_timeout,
            settings.mongodb_pool_size,
            Arc::new(move |operation, took, failed| observer.observe_mongodb(operation, took, failed)),
        )
        .await?;
        let gateway: Arc<dyn PaymentGateway> = match settings.payment_gateway {
            GatewayChoice::Sandbox => Arc::new(Sandbox { slow: settings.sandbox_slow }),
            GatewayChoice::None => Arc::new(Unconfigured),
        };
        let sealer = settings.webhook_secret_key.as_deref().map(sealed::Sealer::from_text).transpose()?.map(Arc::new);
        let webhook_client =
            crate::outside::webhook_http::http_client(settings.webhook_allow_private, settings.webhook_timeout)?;
        let mailer = Arc::new(notifications::Mailer::from_settings(
            settings.smtp_url.as_deref(),
            &settings.smtp_from,
            settings.smtp_timeout,
        )?);
        let settings_hash_concurrency = settings.access.auth.hash_concurrency;
        Ok(AppState {
            db,
            info,
            settings: Arc::new(settings),
            gateway,
            webhook_client,
            mailer,
            signals: Signals::default(),
            callers: Arc::default(),
            audit_outcomes: Arc::default(),
            metrics,
            sealer,
            hashing: Arc::new(auth::HashPool::new(settings_hash_concurrency)?),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{resource} {id} does not exist")]
    NotFound { resource: &'static str, id: String },
    #[error("the request has invalid fields")]
    Validation(Vec<FieldIssue>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String, field: Option<String>, details: Option<Box<serde_json::Value>> },
    /// The key lacks a scope the request needs beyond its operation's (e.g. subscribing a
    /// webhook to another family's events).
    #[error("{message}")]
    Forbidden { scope: String, message: String },
    /// Credentials a person presented (a password, a refresh token, a link's token) do not
    /// hold: 401 with a code that never says which part was wrong.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: &'static str },
    /// What the caller asks is refused for a reason of their own account (403 with a code), such
    /// as signing in before verifying the email.
    #[error("{message}")]
    NotAllowed { code: &'static str, message: &'static str },
    /// Too many failed attempts from this address or at this account: 429 with `Retry-After`.
    #[error("{message}")]
    Throttled { retry_after_secs: u64, message: String },
    #[error("the resource changed: its current tag is {current}")]
    PreconditionFailed { current: String },
    #[error("{store} is unavailable")]
    Unavailable { store: &'static str, detail: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found<R: Resource>(id: R) -> Self {
        AppError::NotFound { resource: R::NAME, id: id.to_string() }
    }

    pub fn invalid(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldIssue::new(field, code, message)])
    }

    /// `Ok` when nothing was found wrong; otherwise one 422 naming every field at once.
    pub fn unless_issues(issues: Vec<FieldIssue>) -> AppResult<()> {
        if issues.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(issues))
        }
    }

    pub fn conflict(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into(), field: field.map(str::to_string), details: None }
    }

    /// A conflict with machine-readable facts (what is available, which transitions are allowed).
    pub fn conflict_with(
        code: &'static str,
        field: Option<String>,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        AppError::Conflict { code, message: message.into(), field, details: Some(Box::new(details)) }
    }

    fn postgresql_unavailable(detail: impl Into<String>) -> Self {
        AppError::Unavailable { store: "postgresql", detail: detail.into() }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// `repo::find(conn, id)?.found(id)?`: a missing row is the resource's 404.
pub trait Found<T> {
    fn found<R: Resource>(self, id: R) -> AppResult<T>;
}

impl<T> Found<T> for Option<T> {
    fn found<R: Resource>(self, id: R) -> AppResult<T> {
        self.ok_or_else(|| AppError::not_found(id))
    }
}

impl From<crate::domain::precondition::Stale> for AppError {
    fn from(stale: crate::domain::precondition::Stale) -> Self {
        AppError::PreconditionFailed { current: stale.current }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        if let Some(mapped) = crate::store::pg::violation(&err).and_then(|v| constraints::problem_for(&v)) {
            return mapped;
        }
        if crate::store::pg::lost_connection(&err) {
            return AppError::postgresql_unavailable(err.to_string());
        }
        AppError::Internal(anyhow::Error::new(err).context("PostgreSQL query failed"))
    }
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(detail) => AppError::postgresql_unavailable(detail),
            DbError::Query(err) => err.into(),
            DbError::Panicked => AppError::Internal(anyhow::anyhow!("a database task panicked")),
        }
    }
}

impl ConnectionLoss for AppError {
    fn is_connection_loss(&self) -> bool {
        matches!(self, AppError::Unavailable { store: "postgresql", .. })
    }
}

impl From<InfoError> for AppError {
    fn from(err: InfoError) -> Self {
        match err {
            InfoError::Unavailable(detail) => AppError::Unavailable { store: "mongodb", detail },
            InfoError::CommentLimit => AppError::conflict("comment_limit_reached", None, err.to_string()),
            InfoError::Rejected(issues) => AppError::Validation(issues),
            InfoError::Contended => AppError::conflict("concurrent_update", None, err.to_string()),
            InfoError::Stale(stale) => stale.into(),
            InfoError::NoDocument | InfoError::Deleted => {
                AppError::NotFound { resource: "client_info", id: "of this client".into() }
            }
            InfoError::Other(detail) => AppError::Internal(anyhow::anyhow!(detail).context("MongoDB operation failed")),
        }
    }
}

/// The position a list's cursor names, decoded for the list's sort; a crafted cursor is a 422.
pub(crate) fn cursor_position<P: DeserializeOwned>(page: &PageRequest) -> AppResult<Option<P>> {
    let Some(text) = page.cursor() else {
        return Ok(None);
    };
    decode_cursor(text).map(Some).map_err(|err| match err {
        CursorError::Invalid => invalid_cursor(),
        CursorError::OutOfRange => {
            AppError::invalid("cursor", "out_of_range", crate::domain::time::OUT_OF_RANGE.to_string())
        }
    })
}

/// A cursor of another list or sort, or not from this API at all.
pub(crate) fn invalid_cursor() -> AppError {
    AppError::invalid("cursor", "invalid_cursor", "is not a cursor from this API for this list and sort")
}

/// A record listed in id order (UUIDv7: creation order); its id is its cursor.
pub(crate) trait Keyed {
    fn key(&self) -> uuid::Uuid;
}

type Conn = diesel::PgConnection;
type Rows<T> = diesel::QueryResult<T>;
/// A repository's update: the changes applied at `now`, the row after (`None`: no such row).
type UpdateFn<I, C, T> = fn(&mut Conn, I, &C, chrono::DateTime<chrono::Utc>) -> Rows<Option<T>>;

/// `If-Match` on a write, checked in its transaction: with a list of tags the row is read under
/// lock (`lock`) and must carry one of them; without the header, or with `*`, nothing is read and
/// the write itself reports a missing row.
pub(crate) fn check_precondition<I: Resource + Copy, T: Tagged>(
    conn: &mut Conn,
    precondition: &Precondition,
    id: I,
    lock: fn(&mut Conn, I) -> Rows<Option<T>>,
) -> AppResult<()> {
    if let Precondition::OneOf(_) = precondition {
        precondition.check(&lock(conn, id)?.found(id)?)?;
    }
    Ok(())
}

/// The insert of a new resource, marking its URL as the request's recovery point (what a retry
/// with the same `Idempotency-Key` is sent to if the response was lost).
pub(crate) async fn insert_row<T: Send + 'static>(
    state: &AppState,
    item: T,
    path: String,
    insert: fn(&mut Conn, &T) -> Rows<T>,
) -> AppResult<T> {
    state
        .db
        .tx(move |conn| {
            let created = insert(conn, &item)?;
            idempotency::recovery_point(path);
            Ok(created)
        })
        .await
}

/// The update of a resource that has no rules beyond its fields' (the schema checks those):
/// `If-Match` checked, then the changes applied, in one transaction.
pub(crate) async fn update_row<I, C, T>(
    state: &AppState,
    id: I,
    changes: C,
    precondition: Precondition,
    lock: fn(&mut Conn, I) -> Rows<Option<T>>,
    update: UpdateFn<I, C, T>,
) -> AppResult<T>
where
    I: Resource + Copy + Send + 'static,
    C: Send + 'static,
    T: Tagged + Send + 'static,
{
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            check_precondition(conn, &precondition, id, lock)?;
            update(conn, id, &changes, now)?.found(id)
        })
        .await
}

/// The delete of a resource: `If-Match` checked, then the row removed (foreign keys refuse a
/// row still in use, which the constraint registry names).
pub(crate) async fn delete_row<I, T>(
    state: &AppState,
    id: I,
    precondition: Precondition,
    lock: fn(&mut Conn, I) -> Rows<Option<T>>,
    delete: fn(&mut Conn, I) -> Rows<bool>,
) -> AppResult<()>
where
    I: Resource + Copy + Send + 'static,
    T: Tagged + Send + 'static,
{
    state
        .db
        .tx(move |conn| {
            check_precondition(conn, &precondition, id, lock)?;
            delete(conn, id)?.then_some(()).found(id)
        })
        .await
}

/// One page of an id-ordered list: the cursor is the last id seen, `fetch` loads up to `limit`
/// records after it (before it when the list runs newest first).
pub(crate) async fn id_page<T, F>(state: &AppState, page: PageRequest, fetch: F) -> AppResult<Page<T>>
where
    T: Keyed + Send + 'static,
    F: FnOnce(&mut diesel::PgConnection, Option<uuid::Uuid>, i64) -> AppResult<Vec<T>> + Send + 'static,
{
    let after = cursor_position::<uuid::Uuid>(&page)?;
    let limit = page.overfetch();
    let rows = state.db.read(move |conn| fetch(conn, after, limit)).await?;
    Ok(Page::from_overfetch(rows, limit - 1, |row| crate::domain::page::encode_cursor(&row.key())))
}

/// What a degraded view tells the caller about a failed MongoDB read.
pub(crate) fn degraded_reason(err: &InfoError) -> String {
    match err {
        InfoError::Unavailable(_) => "MongoDB is unavailable".into(),
        _ => "MongoDB could not be read".into(),
    }
}
