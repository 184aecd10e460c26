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
use crate::http::routes::{RouteTable, Routed};
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

/// What the access layer decided for a request: who calls and the operation it allowed.
#[derive(Debug, Clone)]
struct Authorized {
    key: Arc<ApiKey>,
    operation: String,
}

/// The calling key: every `/api/v1` handler takes one. It exists only when the access layer
/// authorized the request *and* the operation the router matched is the one it authorized, with
/// the key holding its scope; otherwise the handler never runs (401 without the access layer's
/// decision, 403 when the decision and the route disagree). A handler mounted without the access
/// layer therefore refuses everyone.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<ApiKey>);

impl Caller {
    pub fn key(&self) -> &ApiKey {
        &self.0
    }

    /// The caller as the owner of webhook endpoints.
    pub fn endpoint_actor(&self) -> crate::domain::webhooks::EndpointActor {
        crate::domain::webhooks::EndpointActor { key: self.0.id, grant: self.0.grant() }
    }

    /// What of other families the responses to this caller may show.
    pub fn disclosure(&self) -> crate::http::dto::Disclosure {
        crate::http::dto::Disclosure::new(self.0.grant())
    }
}

/// The key the access layer authorized for this request and the operation, if it did.
pub fn authorized(req: &ServiceRequest) -> Option<(crate::domain::ids::ApiKeyId, String)> {
    req.extensions().get::<Authorized>().map(|authorized| (authorized.key.id, authorized.operation.clone()))
}

impl actix_web::FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(caller_of(req))
    }
}

fn caller_of(req: &HttpRequest) -> Result<Caller, ApiError> {
    let Some(authorized) = req.extensions().get::<Authorized>().cloned() else {
        return Err(
            Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "the request was not authenticated").into()
        );
    };
    // After routing, the pattern of the resource the router chose (not the request's path).
    let operation = req
        .match_pattern()
        .and_then(|pattern| req.app_data::<web::Data<Operations>>()?.find(req.method(), &pattern).cloned());
    match operation {
        Some(op) if op.id == authorized.operation && op.scope.is_some_and(|s| authorized.key.grant().allows(s)) => {
            Ok(Caller(authorized.key))
        }
        Some(op) if op.id == authorized.operation => Err(forbidden_problem(op.scope).into()),
        other => {
            tracing::error!(
                authorized = %authorized.operation,
                routed = other.as_ref().map_or("none", |op| op.id.as_str()),
                "the router chose another operation than the access layer authorized: refused"
            );
            Err(forbidden_problem(None).into())
        }
    }
}

/// The bearer token of a request, if it sent one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
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

fn forbidden_problem(scope: Option<Scope>) -> Problem {
    match scope {
        Some(scope) => {
            let mut problem =
                Problem::new(StatusCode::FORBIDDEN, "forbidden", format!("this API key lacks the scope {scope}"));
            problem.details = Some(serde_json::json!({ "required_scope": scope.to_string() }));
            problem
        }
        None => Problem::new(StatusCode::FORBIDDEN, "forbidden", "no API key may call this operation"),
    }
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

/// Reads recorded in the audit log like writes: who looked at the keys and at the log itself.
const AUDITED_READS: [&str; 4] = ["list_api_keys", "get_api_key", "list_audit_log", "get_audit_entry"];

/// Authentication, rate limit, authorization and audit for everything the router sends into
/// `/api/v1`, decided on the operation the request is routed to. A request there that matches
/// no operation is answered here (401 without a valid key, else 404 or 405), never passed on.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let routed = Routed::of(&req);
    if !routed.api {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("application state missing"));
    };
    let limits = &state.settings.access;
    let ip = req.peer_addr().map(|addr| addr.ip());

    // Who. A caller without a valid key costs no database work: a secret the cache does not know
    // is looked up only after the address's bucket gives a token (`charged`; a refusal after
    // the lookup takes no second one). A secret that matched a key when last looked up is
    // refreshed without one: the requests in flight when a busy key's entry ages out are not
    // the made-up secrets the bucket is for.
    let mut charged: Option<RateDecision> = None;
    let recognized = match bearer(req.headers()) {
        None => Err(None),
        Some(token) => match access::recognize(&state, token) {
            access::Recognized::Known(known) => known.map_err(Some),
            access::Recognized::NeedsLookup { known } => {
                if !known {
                    let decision = state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit);
                    charged = Some(decision);
                    if !decision.allowed {
                        state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
                        let mut response = rate_limited(&decision);
                        add_rate_headers(response.headers_mut(), &decision);
                        return Ok(req.into_response(response));
                    }
                }
                match access::authenticate(&state, token).await {
                    // A real key's lookup gives its token back: keys behind one proxy do not
                    // spend each other's budget, only secrets that match nothing do.
                    Ok(Ok(key)) => {
                        if !known {
                            state.callers.give_back(Bucket::Ip(ip), limits.anonymous_rate_limit);
                        }
                        Ok(key)
                    }
                    Ok(Err(refusal)) => Err(Some(refusal)),
                    Err(err) => return Ok(req.into_response(ApiError::from(err).error_response())),
                }
            }
        },
    };
    let key = match recognized {
        Ok(key) => key,
        Err(refusal) => {
            let reason = match refusal {
                None => "missing_key",
                Some(Refusal::Unknown) => "unknown_key",
                Some(Refusal::Expired) => "expired_key",
                Some(Refusal::Revoked) => "revoked_key",
            };
            state.metrics.access_refusals.with_label_values(&[reason]).inc();
            let decision = charged.unwrap_or_else(|| state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit));
            let mut response = if decision.allowed { unauthenticated(refusal) } else { rate_limited(&decision) };
            add_rate_headers(response.headers_mut(), &decision);
            return Ok(req.into_response(response));
        }
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("key_id", tracing::field::display(key.id));
    }

    // How often.
    let decision = state.callers.take(Bucket::Key(key.id), limits.rate_limit_for(key.role.as_str()));
    if !decision.allowed {
        state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
        let mut response = rate_limited(&decision);
        add_rate_headers(response.headers_mut(), &decision);
        return Ok(req.into_response(response));
    }

    // What: the operation of the route, and whether the key may call it.
    let operation = routed
        .template
        .as_deref()
        .and_then(|template| req.app_data::<web::Data<Operations>>().and_then(|ops| ops.find(req.method(), template)))
        .cloned();
    let Some(op) = operation else {
        let routes = req.app_data::<web::Data<RouteTable>>().map(|routes| routes.get_ref());
        let mut response = crate::http::routes::unrouted(routes, req.method(), &routed.path);
        add_rate_headers(response.headers_mut(), &decision);
        return Ok(req.into_response(response));
    };
    // Writes (and the reads of keys and of the audit log) are audited, refused or not.
    let audited = is_write(req.method()) || AUDITED_READS.contains(&op.id.as_str());
    let audit = audited.then(|| AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: crate::app::clock::now(),
        key_id: Some(key.id),
        operation_id: op.id.clone(),
        method: req.method().to_string(),
        path: routed.path.to_string(),
        subject_id: routed.template.as_deref().and_then(|t| subject_in_path(t, &routed.path)),
        status: None,
        request_id: req.extensions().get::<RequestId>().map(ToString::to_string),
    });
    let mut response = if !op.scope.is_some_and(|scope| key.grant().allows(scope)) {
        state.metrics.access_refusals.with_label_values(&["forbidden"]).inc();
        req.into_response(problem_response(forbidden_problem(op.scope)))
    } else {
        req.extensions_mut().insert(Authorized { key: key.clone(), operation: op.id });
        match &audit {
            Some(entry) => {
                let unit = access::AuditUnit::new(entry.clone());
                access::audit_scoped(unit, next.call(req)).await?.map_into_boxed_body()
            }
            None => next.call(req).await?.map_into_boxed_body(),
        }
    };
    if let Some(mut entry) = audit {
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
