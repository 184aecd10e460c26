//! The one place errors become HTTP: `application/problem+json` (RFC 9457) with a stable `code`.

use crate::app::AppError;
use crate::domain::free_form::FieldIssue;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `email` or `attributes.$where`.
    #[schema(example = "email")]
    pub field: String,
    #[schema(example = "invalid_email")]
    pub code: String,
    #[schema(example = "must be a valid email address")]
    pub message: String,
}

impl From<FieldIssue> for FieldError {
    fn from(issue: FieldIssue) -> Self {
        FieldError { field: printable(issue.field), code: issue.code.to_string(), message: printable(issue.message) }
    }
}

/// Problems echo field names and input, which may hold NUL characters; they are written as the
/// escape text `\u0000` so that no response carries a NUL.
fn printable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\\u0000")
    } else {
        text
    }
}

/// An RFC 9457 problem document. `code` is stable and meant for programs; `detail` for people.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:hybrid-crm:problem:validation_failed",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "the request has invalid fields",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "invalid_email", "message": "must be a valid email address"}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "urn:hybrid-crm:problem:client_not_found")]
    pub problem_type: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    #[schema(example = "client 0192f5e2-7a1c-7cc0-b1d4-2f1e9a6c1a10 does not exist")]
    pub detail: String,
    #[schema(example = "client_not_found")]
    pub code: String,
    /// Per-field problems (validation only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(nullable = false)]
    pub errors: Vec<FieldError>,
    /// The resource's current `ETag` (412 only): reload, then retry with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "\"4\"")]
    pub current_etag: Option<String>,
    /// The current version of a resource tagged by its version (412 only; the tag without quotes).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current_version: Option<i32>,
    /// Machine-readable facts about a conflict (409 only), e.g. `{"product_id": "…",
    /// "requested": 3, "available": 1}` or `{"status": "shipped", "allowed": ["delivered"]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub details: Option<serde_json::Value>,
    /// Seconds for `Retry-After` (429); a header, not part of the document.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        let code = code.into();
        Problem {
            problem_type: format!("urn:hybrid-crm:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: printable(detail.into()),
            code,
            errors: Vec::new(),
            current_etag: None,
            current_version: None,
            details: None,
            retry_after: None,
        }
    }

    pub fn invalid(issues: Vec<FieldIssue>) -> Self {
        let mut problem =
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "the request has invalid fields");
        problem.errors = issues.into_iter().map(FieldError::from).collect();
        problem
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// What handlers and extractors return on failure.
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status, self.0.code, self.0.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.0.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(seconds) = self.0.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        } else if self.0.status == 503 {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.body(serde_json::to_string(&self.0).unwrap_or_default())
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        ApiError(Box::new(problem))
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let problem = match err {
            AppError::NotFound { resource, ref id } => Problem::new(
                StatusCode::NOT_FOUND,
                format!("{resource}_not_found"),
                format!("{resource} {id} does not exist"),
            ),
            AppError::Validation(issues) => Problem::invalid(issues),
            AppError::Conflict { code, message, field, details } => {
                let mut problem = Problem::new(StatusCode::CONFLICT, code, message.clone());
                if let Some(field) = field {
                    problem.errors.push(FieldError { field, code: code.into(), message });
                }
                problem.details = details.map(|details| *details);
                problem
            }
            AppError::Forbidden { scope, message } => {
                let mut problem = Problem::new(StatusCode::FORBIDDEN, "forbidden", message);
                problem.details = Some(serde_json::json!({ "required_scope": scope }));
                problem
            }
            AppError::PreconditionFailed { current } => {
                let mut problem = Problem::new(
                    StatusCode::PRECONDITION_FAILED,
                    "version_mismatch",
                    format!("If-Match does not name the current ETag \"{current}\"; reload and retry"),
                );
                problem.current_version = current.parse().ok();
                problem.current_etag = Some(format!("\"{current}\""));
                problem
            }
            AppError::Unauthenticated { code, message } => Problem::new(StatusCode::UNAUTHORIZED, code, message),
            AppError::NotAllowed { code, message } => Problem::new(StatusCode::FORBIDDEN, code, message),
            AppError::Throttled { retry_after_secs, message } => {
                let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
                problem.retry_after = Some(retry_after_secs);
                problem
            }
            AppError::Unavailable { store, detail } => {
                tracing::warn!(store, %detail, "store unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    format!("{store} is unavailable; retry later"),
                )
            }
            AppError::Internal(err) => {
                // Logged once here with the whole cause chain; the caller sees an opaque message.
                tracing::error!(error = format!("{err:#}"), "internal error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "an unexpected error occurred")
            }
        };
        ApiError(Box::new(problem))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
