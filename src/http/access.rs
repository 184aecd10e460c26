//! Who is calling, whether they may, how often, and what they changed.
//!
//! The scope each operation needs is declared once, on its handler (`security(("api_key" =
//! ["clients:read"]))`), and read back from the generated OpenAPI document at start: what the
//! spec tells integrators is exactly what this middleware enforces. An operation under
//! `/api/v1` without a declared scope is refused to everyone (and a test fails).

use crate::app::access::{self, Bucket, RateDecision, Refusal};
use crate::app::AppState;
use crate::domain::access::{ApiKey, AuditEntry, Scope};
use crate::domain::ids::AuditEntryId;
use crate::http::problem::{ApiError, Problem};
use crate::http::routes::RouteTemplate;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tracing_actix_web::{RequestId, RootSpan};

/// The name of the security scheme in the spec.
pub const SCHEME: &str = "api_key";
pub const API_PREFIX: &str = "/api/v1/";

/// One operation as the spec declares it.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// `None` when the spec declares none: refused.
    pub scope: Option<Scope>,
}

/// Every operation under `/api/v1`, by path template and method.
#[derive(Debug, Default)]
pub struct Operations(HashMap<String, HashMap<Method, Operation>>);

impl Operations {
    pub fn from_document(document: &Value) -> Self {
        let mut operations = HashMap::new();
        let Some(paths) = document.get("paths").and_then(Value::as_object) else {
            return Operations(operations);
        };
        for (path, item) in paths.iter().filter(|(path, _)| path.starts_with(API_PREFIX)) {
            let Some(item) = item.as_object() else { continue };
            for (method, operation) in item {
                let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
                let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
                operations
                    .entry(path.clone())
                    .or_insert_with(HashMap::new)
                    .insert(method, Operation { id, scope: declared_scope(operation) });
            }
        }
        Operations(operations)
    }

    fn find(&self, method: &Method, template: &str) -> Option<&Operation> {
        // HEAD is answered by the GET handler.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.0.get(template)?.get(method)
    }
}

/// The one scope of the operation's `api_key` requirement.
pub fn declared_scope(operation: &Value) -> Option<Scope> {
    let requirements = operation.get("security")?.as_array()?;
    let scopes: Vec<&Value> =
        requirements.iter().filter_map(|r| r.get(SCHEME)).filter_map(Value::as_array).flatten().collect();
    match scopes.as_slice() {
        [scope] => scope.as_str()?.parse().ok(),
        _ => None,
    }
}

/// The calling key, for handlers.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<ApiKey>);

/// The bearer token of a request, if it sent one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The key of a request outside `/api/v1` that may show more to a caller with one (readiness).
pub async fn optional_caller(state: &AppState, req: &HttpRequest) -> Option<Arc<ApiKey>> {
    let token = bearer(req.headers())?;
    access::authenticate(state, token).await.ok()?.ok()
}

fn problem_response(problem: Problem) -> HttpResponse {
    ApiError::from(problem).error_response()
}

fn unauthenticated(refusal: Option<Refusal>) -> HttpResponse {
    let (detail, challenge) = match refusal {
        None => ("send an API key: Authorization: Bearer hcrm_…", r#"Bearer realm="hybrid-crm""#),
        Some(Refusal::Unknown) => ("the API key is not valid", r#"Bearer realm="hybrid-crm", error="invalid_token""#),
        Some(Refusal::Expired) => ("the API key has expired", r#"Bearer realm="hybrid-crm", error="invalid_token""#),
        Some(Refusal::Revoked) => {
            ("the API key has been revoked", r#"Bearer realm="hybrid-crm", error="invalid_token""#)
        }
    };
    let mut response = problem_response(Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail));
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

fn forbidden(scope: Option<Scope>) -> HttpResponse {
    problem_response(match scope {
        Some(scope) => {
            let mut problem =
                Problem::new(StatusCode::FORBIDDEN, "forbidden", format!("this API key lacks the scope {scope}"));
            problem.details = Some(serde_json::json!({ "required_scope": scope.to_string() }));
            problem
        }
        None => Problem::new(StatusCode::FORBIDDEN, "forbidden", "no API key may call this operation"),
    })
}

fn rate_limited(decision: &RateDecision) -> HttpResponse {
    let mut response = problem_response(Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {} s", decision.retry_after_secs),
    ));
    if let Ok(value) = HeaderValue::from_str(&decision.retry_after_secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn add_rate_headers(headers: &mut HeaderMap, decision: &RateDecision) {
    for (name, value) in [
        ("ratelimit-limit", decision.limit as u64),
        ("ratelimit-remaining", decision.remaining as u64),
        ("ratelimit-reset", decision.reset_secs),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// The first `{param}` of the template, read from the path: the resource a write is about.
fn subject_in_path(template: &str, path: &str) -> Option<String> {
    template.split('/').zip(path.split('/')).find(|(t, _)| t.starts_with('{')).map(|(_, value)| value.to_string())
}

/// The id at the end of a created resource's `Location`.
fn subject_in_location(headers: &HeaderMap) -> Option<String> {
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    location.rsplit('/').next().filter(|id| !id.is_empty()).map(str::to_string)
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Authentication, rate limit, authorization and audit for everything under `/api/v1`.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !req.path().starts_with(API_PREFIX) || req.method() == Method::OPTIONS {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("application state missing"));
    };
    let limits = &state.settings.access;

    // Who: without a valid key, only the per-IP bucket of failed attempts is charged.
    let refusal = match bearer(req.headers()) {
        None => Err(None),
        Some(token) => match access::authenticate(&state, token).await {
            Ok(Ok(key)) => Ok(key),
            Ok(Err(refusal)) => Err(Some(refusal)),
            Err(err) => return Ok(req.into_response(ApiError::from(err).error_response())),
        },
    };
    let key = match refusal {
        Ok(key) => key,
        Err(refusal) => {
            let reason = match refusal {
                None => "missing_key",
                Some(Refusal::Unknown) => "unknown_key",
                Some(Refusal::Expired) => "expired_key",
                Some(Refusal::Revoked) => "revoked_key",
            };
            state.metrics.access_refusals.with_label_values(&[reason]).inc();
            let ip = req.peer_addr().map(|addr| addr.ip());
            let decision = state.gate.take(Bucket::Ip(ip), limits.anonymous_rate_limit);
            let mut response = if decision.allowed { unauthenticated(refusal) } else { rate_limited(&decision) };
            add_rate_headers(response.headers_mut(), &decision);
            return Ok(req.into_response(response));
        }
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("key_id", tracing::field::display(key.id));
    }

    // How often.
    let decision = state.gate.take(Bucket::Key(key.id), limits.rate_limit_for(key.role.as_str()));
    if !decision.allowed {
        state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
        let mut response = rate_limited(&decision);
        add_rate_headers(response.headers_mut(), &decision);
        return Ok(req.into_response(response));
    }

    // What: the operation the request is routed to, and whether the key may call it.
    let template = RouteTemplate::of(&req);
    let operation = template
        .as_deref()
        .and_then(|template| req.app_data::<web::Data<Operations>>().and_then(|ops| ops.find(req.method(), template)))
        .cloned();
    let audit = is_write(req.method()).then(|| AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: crate::app::clock::now(),
        key_id: Some(key.id),
        operation_id: operation.as_ref().map_or_else(|| "unknown".to_string(), |op| op.id.clone()),
        method: req.method().to_string(),
        path: req.path().to_string(),
        subject_id: template.as_deref().and_then(|t| subject_in_path(t, req.path())),
        status: None,
        request_id: req.extensions().get::<RequestId>().map(ToString::to_string),
    });

    let mut response = match &operation {
        // Unrouted: the fallback answers 404 or 405.
        None => next.call(req).await?.map_into_boxed_body(),
        Some(op) if !op.scope.is_some_and(|scope| key.grant().allows(scope)) => {
            state.metrics.access_refusals.with_label_values(&["forbidden"]).inc();
            let response = forbidden(op.scope);
            req.into_response(response)
        }
        Some(_) => {
            req.extensions_mut().insert(Caller(key.clone()));
            match &audit {
                Some(entry) => {
                    let unit = access::AuditUnit::new(entry.clone());
                    access::audit_scoped(unit, next.call(req)).await?.map_into_boxed_body()
                }
                None => next.call(req).await?.map_into_boxed_body(),
            }
        }
    };

    if let Some(mut entry) = audit.filter(|_| operation.is_some()) {
        entry.status = Some(response.status().as_u16() as i16);
        if entry.subject_id.is_none() {
            entry.subject_id = subject_in_location(response.headers());
        }
        access::finish_audit(&state, entry);
    }
    add_rate_headers(response.headers_mut(), &decision);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_the_first_id_in_the_path() {
        assert_eq!(
            subject_in_path("/api/v1/clients/{id}/comments", "/api/v1/clients/abc/comments"),
            Some("abc".into())
        );
        assert_eq!(subject_in_path("/api/v1/clients", "/api/v1/clients"), None);
    }

    #[test]
    fn one_declared_scope_is_read_from_an_operation() {
        let op = serde_json::json!({"security": [{"api_key": ["orders:write"]}]});
        assert_eq!(declared_scope(&op).map(|s| s.to_string()), Some("orders:write".into()));
        assert_eq!(declared_scope(&serde_json::json!({})), None);
        assert_eq!(declared_scope(&serde_json::json!({"security": [{"api_key": ["a:b"]}]})), None);
    }
}
