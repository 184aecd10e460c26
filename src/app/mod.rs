//! Use cases, one module per capability. Typed inputs in, domain/view types or `AppError` out;
//! no web framework types.

pub mod catalog;
pub mod clients;
pub mod companies;
pub mod coupons;
pub mod health;
pub mod info;
pub mod interests;
pub mod orders;
pub mod reconcile;
pub mod seed;
pub mod stats;
pub mod validation;
pub mod workshops;

use crate::config::Settings;
use crate::domain::free_form::FieldIssue;
use crate::store::mongo::{InfoError, InfoStore};
use crate::store::pg::{violated_constraint, Db, DbError, ViolationKind};
use std::sync::Arc;

/// Everything a use case needs; cheap to clone into each worker.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub info: InfoStore,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub async fn from_settings(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database_url, settings.pg_pool_size, settings.pg_checkout_timeout)?;
        let info = InfoStore::connect(
            &settings.mongodb_uri,
            &settings.mongodb_db,
            settings.mongodb_timeout,
            settings.mongodb_pool_size,
        )
        .await?;
        Ok(AppState { db, info, settings: Arc::new(settings) })
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
    #[error("the resource changed: current version is {current_version}")]
    PreconditionFailed { current_version: i32 },
    #[error("{store} is unavailable")]
    Unavailable { store: &'static str, detail: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(resource: &'static str, id: impl ToString) -> Self {
        AppError::NotFound { resource, id: id.to_string() }
    }

    pub fn invalid(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldIssue::new(field, code, message)])
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
}

/// The page size of a list request (default 20, 1 to 100) once its `q` search text is checked.
pub(crate) fn page_limit(limit: Option<i64>, search: Option<&str>) -> AppResult<i64> {
    let limit = limit.unwrap_or(crate::domain::page::DEFAULT_LIMIT);
    if !(1..=crate::domain::page::MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid("limit", "out_of_range", "must be between 1 and 100"));
    }
    if let Some(issue) = search.and_then(crate::domain::page::search_text_issue) {
        return Err(AppError::Validation(vec![issue]));
    }
    Ok(limit)
}

pub(crate) fn invalid_cursor() -> AppError {
    AppError::invalid("cursor", "invalid_cursor", "is not a cursor from this API for this sort")
}

/// The outcome of deleting one row: gone, never there (404), or still referenced — a foreign key
/// refused it, which to the caller means "in use" (409 with `in_use_code`).
pub(crate) fn deleted(
    outcome: diesel::QueryResult<bool>,
    resource: &'static str,
    id: impl ToString,
    in_use_code: &'static str,
    in_use_message: &'static str,
) -> AppResult<()> {
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(AppError::not_found(resource, id)),
        Err(err) if matches!(violated_constraint(&err), Some((ViolationKind::ForeignKey, _))) => {
            Err(AppError::conflict(in_use_code, None, in_use_message))
        }
        Err(err) => Err(err.into()),
    }
}

/// The current time at PostgreSQL's precision (microseconds), so what a create returns equals
/// what a later read returns.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// What a degraded view tells the caller about a failed MongoDB read.
pub(crate) fn degraded_reason(err: &InfoError) -> String {
    match err {
        InfoError::Unavailable(_) => "MongoDB is unavailable".into(),
        _ => "MongoDB could not be read".into(),
    }
}

/// Constraint names from `migrations/` and what a violation means to the caller. Deletes that
/// hit a foreign key are mapped by their use case (the same key means "in use" there).
fn constraint_error(kind: ViolationKind, constraint: &str) -> Option<AppError> {
    let error = match (kind, constraint) {
        (ViolationKind::Unique, "companies_legal_name_key") => {
            AppError::conflict("legal_name_taken", Some("legal_name"), "a company with this legal name exists")
        }
        (ViolationKind::Unique, "companies_tax_id_key") => {
            AppError::conflict("tax_id_taken", Some("tax_id"), "a company with this tax id exists")
        }
        (ViolationKind::Unique, "interests_name_key") => {
            AppError::conflict("name_taken", Some("name"), "an interest with this name exists")
        }
        (ViolationKind::Unique, "clients_email_key") => {
            AppError::conflict("email_taken", Some("email"), "a client with this email exists")
        }
        (ViolationKind::ForeignKey, "clients_company_id_fkey") => {
            AppError::invalid("company_id", "unknown_company", "no company has this id")
        }
        (ViolationKind::ForeignKey, "client_interests_interest_id_fkey") => {
            AppError::invalid("interest_ids", "unknown_interest", "an interest id does not exist")
        }
        (ViolationKind::Unique, "categories_slug_key" | "products_slug_key") => {
            AppError::conflict("slug_taken", Some("slug"), "this slug is taken")
        }
        (ViolationKind::Unique, "categories_name_key") => {
            AppError::conflict("name_taken", Some("name"), "a category with this name exists")
        }
        (ViolationKind::ForeignKey, "products_category_id_fkey") => {
            AppError::invalid("category_id", "unknown_category", "no category has this id")
        }
        (ViolationKind::Unique, "coupons_code_key") => {
            AppError::conflict("code_taken", Some("code"), "a coupon with this code exists")
        }
        (ViolationKind::Check, "coupons_redemptions_within_max") => AppError::conflict(
            "max_redemptions_below_used",
            Some("max_redemptions"),
            "more orders already redeemed this coupon",
        ),
        (ViolationKind::Check, "coupons_percentage_at_most_100") => {
            AppError::invalid("value", "out_of_range", "a percentage is at most 100")
        }
        (ViolationKind::Check, "coupons_window_ordered") => {
            AppError::invalid("valid_until", "out_of_range", "must be after valid_from")
        }
        (ViolationKind::Unique, "coupon_redemptions_once_per_client") => AppError::conflict(
            "coupon_already_used",
            Some("coupon_code"),
            "this client already used this coupon, which is valid once per client",
        ),
        (ViolationKind::ForeignKey, "orders_client_id_fkey" | "coupon_redemptions_client_id_fkey") => {
            AppError::conflict("client_in_use", None, "the client has orders; deactivate the client instead")
        }
        (ViolationKind::Check, "products_stock_within_limit") => AppError::conflict(
            "stock_limit",
            None,
            format!("a product's stock cannot exceed {} units", crate::domain::catalog::MAX_STOCK),
        ),
        (ViolationKind::Unique, "workshops_name_key") => {
            AppError::conflict("name_taken", Some("name"), "a workshop with this name exists")
        }
        (ViolationKind::ForeignKey, "workshops_category_id_fkey") => {
            AppError::invalid("category_id", "unknown_category", "no interest has this id")
        }
        (ViolationKind::Check, "workshops_place_matches_modality") => {
            AppError::invalid("location", "required", "in_person workshops need a location, online workshops a link")
        }
        (ViolationKind::Unique, "enrollments_one_per_client") => workshops::already_enrolled(),
        (ViolationKind::Check, "clients_b2b_requires_company") => {
            AppError::invalid("company_id", "required_for_b2b", "b2b clients need a company")
        }
        _ => return None,
    };
    Some(error)
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        if let Some(mapped) = violated_constraint(&err).and_then(|(kind, name)| constraint_error(kind, &name)) {
            return mapped;
        }
        AppError::Internal(anyhow::Error::new(err).context("PostgreSQL query failed"))
    }
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(detail) => AppError::Unavailable { store: "postgresql", detail },
            DbError::Query(err) => err.into(),
            DbError::Panicked => AppError::Internal(anyhow::anyhow!("a database task panicked")),
        }
    }
}

impl From<InfoError> for AppError {
    fn from(err: InfoError) -> Self {
        match err {
            InfoError::Unavailable(detail) => AppError::Unavailable { store: "mongodb", detail },
            InfoError::CommentLimit => AppError::conflict("comment_limit_reached", None, err.to_string()),
            InfoError::Rejected(issues) => AppError::Validation(issues),
            InfoError::Contended => AppError::conflict("concurrent_update", None, err.to_string()),
            InfoError::Other(detail) => AppError::Internal(anyhow::anyhow!(detail).context("MongoDB operation failed")),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
