//! Who is calling, whether they may, how often, and what they changed.
//!
//! The scope each operation needs is declared once, on its handler (`security(("api_key" =
//! ["clients:read"]))`), and read back from the generated OpenAPI document at start: what the
//! spec tells integrators is exactly what this middleware enforces. An operation under
//! `/api/v1` without a declared scope is refused to everyone (and a test fails). Four other
//! declarations exist: `security(("staff_session" = []))` for what a signed-in staff user does to
//! their own account, `security(("store_session" = []))` for a signed-in customer's own records
//! (no key may call either), `security(("publishable_key" = []))` for the storefront's public
//! catalog (read only from `X-Publishable-Key`, never a bearer token), and `security(())` for
//! signing in, registering and resets (anyone, rate-limited by address). Callers are API keys
//! (secret or publishable) or people's access tokens (`hcrm_at_…`): a staff token carries its
//! user's role's scopes and passes every scope check a key with that role would; a customer's
//! carries none, nor does a publishable key.

use crate::app::access::{self, Bucket, RateDecision, Refusal};
use crate::app::auth;
use crate::app::AppState;
use crate::domain::access::{Actor, ApiKey, AuditEntry, KeyKind, Owner, Principal, Scope, PUBLISHABLE_PREFIX};
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
use std::net::IpAddr;
use std::sync::Arc;
use tracing_actix_web::{RequestId, RootSpan};

/// The names of the security schemes in the spec.
pub const SCHEME: &str = "api_key";
pub const SESSION_SCHEME: &str = "staff_session";
pub const STORE_SCHEME: &str = "store_session";
pub const PUBLISHABLE_SCHEME: &str = "publishable_key";
pub const API_PREFIX: &str = "/api/v1/";

/// What an operation's declared security asks of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A key or a staff session holding the scope.
    Scope(Scope),
    /// A staff session, whatever its role (a person's own account); never a key.
    SignedIn,
    /// A customer's store session (their own records); never a key or a staff session.
    Customer,
    /// A publishable key in `X-Publishable-Key` (the public catalog); nothing else is read.
    Storefront,
    /// Anyone (signing in): no credentials are read.
    Public,
    /// Nothing the layer understands: refused to everyone.
    Undeclared,
}

impl Requirement {
    fn allows(self, principal: &Principal) -> bool {
        match self {
            Requirement::Scope(scope) => principal.grant.allows(scope),
            Requirement::SignedIn => matches!(principal.actor, Actor::User { .. }),
            Requirement::Customer => matches!(principal.actor, Actor::Customer { .. }),
            Requirement::Storefront => matches!(principal.actor, Actor::Storefront(_)),
            Requirement::Public | Requirement::Undeclared => false,
        }
    }
}

/// One operation as the spec declares it.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub requirement: Requirement,
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
                    .insert(method, Operation { id, requirement: declared_requirement(operation) });
            }
        }
        Operations(operations)
    }

    /// Whether every operation of the path is public: a wrong method there is answered 405
    /// without asking for credentials (it reveals nothing a public operation does not).
    fn public_path(&self, template: &str) -> bool {
        self.0.get(template).is_some_and(|ops| ops.values().all(|op| op.requirement == Requirement::Public))
    }

    fn find(&self, method: &Method, template: &str) -> Option<&Operation> {
        // HEAD is answered by the GET handler.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.0.get(template)?.get(method)
    }
}

/// What the operation's security requirements ask: `[{}]` alone is public; one scope named by
/// `api_key` (and the same by `staff_session`, which the spec adds beside it) is that scope;
/// `staff_session` alone with no scope is any signed-in person.
pub fn declared_requirement(operation: &Value) -> Requirement {
    let Some(requirements) = operation.get("security").and_then(Value::as_array) else {
        return Requirement::Undeclared;
    };
    let objects: Vec<&serde_json::Map<String, Value>> = requirements.iter().filter_map(Value::as_object).collect();
    if objects.len() != requirements.len() || objects.is_empty() {
        return Requirement::Undeclared;
    }
    if objects.len() == 1 && objects[0].is_empty() {
        return Requirement::Public;
    }
    let scopes = |scheme: &str| -> Option<Vec<&Value>> {
        let lists: Vec<&Vec<Value>> = objects.iter().filter_map(|o| o.get(scheme)?.as_array()).collect();
        (!lists.is_empty()).then(|| lists.into_iter().flatten().collect())
    };
    if let [only] = objects.as_slice() {
        let alone =
            |scheme: &str| only.len() == 1 && only.get(scheme).and_then(Value::as_array).is_some_and(Vec::is_empty);
        if alone(STORE_SCHEME) {
            return Requirement::Customer;
        }
        if alone(PUBLISHABLE_SCHEME) {
            return Requirement::Storefront;
        }
    }
    let known = objects.iter().all(|o| o.len() == 1 && (o.contains_key(SCHEME) || o.contains_key(SESSION_SCHEME)));
    if !known {
        return Requirement::Undeclared;
    }
    match (scopes(SCHEME), scopes(SESSION_SCHEME)) {
        (Some(keys), sessions) => match keys.as_slice() {
            [scope] if sessions.as_ref().is_none_or(|s| s.iter().all(|other| other == scope)) => {
                scope.as_str().and_then(|s| s.parse().ok()).map_or(Requirement::Undeclared, Requirement::Scope)
            }
            _ => Requirement::Undeclared,
        },
        (None, Some(sessions)) if sessions.is_empty() => Requirement::SignedIn,
        _ => Requirement::Undeclared,
    }
}

/// What the access layer decided for a request: who calls (nobody, for a public operation) and
/// the operation it allowed.
#[derive(Debug, Clone)]
struct Authorized {
    principal: Option<Principal>,
    operation: String,
}

/// The publishable key a storefront request was made with: its origins decide the CORS answer.
#[derive(Debug, Clone)]
pub struct StorefrontKey(pub Arc<ApiKey>);

/// The caller (an API key, a staff session or a customer's): every `/api/v1` handler but the
/// public ones takes one.
/// It exists only when the access layer authorized the request *and* the operation the router
/// matched is the one it authorized, with the caller meeting its requirement; otherwise the
/// handler never runs (401 without the access layer's decision, 403 when the decision and the
/// route disagree). A handler mounted without the access layer therefore refuses everyone.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

impl Caller {
    pub fn grant(&self) -> crate::domain::access::Grant {
        self.0.grant
    }

    /// The caller as the owner of webhook endpoints.
    pub fn endpoint_actor(&self) -> crate::domain::webhooks::EndpointActor {
        crate::domain::webhooks::EndpointActor { owner: self.0.actor.owner(), grant: self.0.grant }
    }

    /// What of other families the responses to this caller may show.
    pub fn disclosure(&self) -> crate::http::dto::Disclosure {
        crate::http::dto::Disclosure::new(self.0.grant)
    }

    /// The signed-in staff user, for the operations on one's own account (`SignedIn` ones, which
    /// only a staff session passes).
    pub fn staff(&self) -> Result<crate::app::auth::Staff, ApiError> {
        crate::app::auth::Staff::of(self.0.actor).ok_or_else(|| forbidden_problem(Requirement::SignedIn).into())
    }

    /// The signed-in customer, for the store's own-records operations.
    pub fn customer(&self) -> Result<crate::app::auth::Customer, ApiError> {
        crate::app::auth::Customer::of(self.0.actor).ok_or_else(|| forbidden_problem(Requirement::Customer).into())
    }
}

/// A request to a public operation (signing in): the handler's proof that the access layer let
/// it through as public, checked against the routed operation like `Caller`.
#[derive(Debug, Clone, Copy)]
pub struct Anyone;

/// Who the access layer authorized for this request and the operation, if it did (a public
/// operation has no owner).
pub fn authorized(req: &ServiceRequest) -> Option<(Owner, String)> {
    let extensions = req.extensions();
    let authorized = extensions.get::<Authorized>()?;
    Some((authorized.principal?.actor.owner(), authorized.operation.clone()))
}

impl actix_web::FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(routed_decision(req).and_then(|(principal, op)| match principal {
            Some(principal) if op.requirement.allows(&principal) => Ok(Caller(principal)),
            _ => Err(forbidden_problem(op.requirement).into()),
        }))
    }
}

impl actix_web::FromRequest for Anyone {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Anyone, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(routed_decision(req).and_then(|(_, op)| match op.requirement {
            Requirement::Public => Ok(Anyone),
            other => Err(forbidden_problem(other).into()),
        }))
    }
}

/// The access layer's decision, if the operation the router chose is the one it decided on.
fn routed_decision(req: &HttpRequest) -> Result<(Option<Principal>, Operation), ApiError> {
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
        Some(op) if op.id == authorized.operation => Ok((authorized.principal, op)),
        other => {
            tracing::error!(
                authorized = %authorized.operation,
                routed = other.as_ref().map_or("none", |op| op.id.as_str()),
                "the router chose another operation than the access layer authorized: refused"
            );
            Err(forbidden_problem(Requirement::Undeclared).into())
        }
    }
}

/// The credential the operation reads: the publishable key for the storefront's catalog, else
/// the bearer token.
fn credential(headers: &HeaderMap, requirement: Requirement) -> Option<&str> {
    match requirement {
        Requirement::Storefront => headers.get(crate::domain::access::PUBLISHABLE_HEADER)?.to_str().ok().map(str::trim),
        _ => bearer(headers),
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

fn unauthenticated(refusal: Option<Refusal>, requirement: Requirement) -> HttpResponse {
    let (detail, challenge) = match refusal {
        None if requirement == Requirement::Storefront => {
            ("send the storefront's publishable key: X-Publishable-Key: hcrm_pk_…", r#"Bearer realm="hybrid-crm""#)
        }
        None => {
            ("send an API key or a staff access token: Authorization: Bearer hcrm_…", r#"Bearer realm="hybrid-crm""#)
        }
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

fn forbidden_problem(requirement: Requirement) -> Problem {
    match requirement {
        Requirement::Scope(scope) => {
            let mut problem =
                Problem::new(StatusCode::FORBIDDEN, "forbidden", format!("this caller lacks the scope {scope}"));
            problem.details = Some(serde_json::json!({ "required_scope": scope.to_string() }));
            problem
        }
        Requirement::SignedIn => Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this operation acts on a signed-in person's own account: call it with a staff access token",
        ),
        Requirement::Customer => Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this operation acts on a signed-in customer's own records: call it with a store access token",
        ),
        Requirement::Storefront => Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this operation reads the storefront's catalog: send a publishable key in X-Publishable-Key",
        ),
        Requirement::Public | Requirement::Undeclared => {
            Problem::new(StatusCode::FORBIDDEN, "forbidden", "no caller may call this operation")
        }
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
    let operation = routed
        .template
        .as_deref()
        .and_then(|template| req.app_data::<web::Data<Operations>>().and_then(|ops| ops.find(req.method(), template)))
        .cloned();

    // Only a method that matched no operation asks whether the path is public.
    let public_path = || {
        let operations = req.app_data::<web::Data<Operations>>();
        routed.template.as_deref().is_some_and(|template| operations.is_some_and(|ops| ops.public_path(template)))
    };
    if operation.is_none() && public_path() {
        let response = {
            let routes = req.app_data::<web::Data<RouteTable>>();
            crate::http::routes::unrouted(routes.as_ref().map(|routes| routes.get_ref()), req.method(), &routed.path)
        };
        return Ok(req.into_response(response));
    }

    // Public operations (signing in) read no credentials; the address's bucket limits them.
    if let Some(op) = operation.as_ref().filter(|op| op.requirement == Requirement::Public) {
        let decision = state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit);
        if !decision.allowed {
            state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
            return Ok(req.into_response(with_rate_headers(rate_limited(&decision), &decision)));
        }
        return authorized_call(&state, req, next, &routed, None, op.clone(), &decision).await;
    }

    let requirement = operation.as_ref().map_or(Requirement::Undeclared, |op| op.requirement);
    let principal = match identify(&state, &req, ip, requirement).await {
        Ok(principal) => principal,
        Err(response) => return Ok(req.into_response(response)),
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        match principal.actor {
            Actor::Key(id) | Actor::Storefront(id) => span.record("key_id", tracing::field::display(id)),
            Actor::User { id, .. } => span.record("user_id", tracing::field::display(id)),
            Actor::Customer { account, .. } => span.record("account_id", tracing::field::display(account)),
        };
    }

    // How often.
    let bucket = match principal.actor {
        Actor::Key(id) => Bucket::Key(id),
        // A publishable key is public: each address using it has its own budget, so one
        // visitor cannot spend the storefront's.
        Actor::Storefront(id) => Bucket::Storefront(id, ip),
        Actor::User { id, .. } => Bucket::User(id),
        Actor::Customer { account, .. } => Bucket::Account(account),
    };
    let decision = state.callers.take(bucket, limits.rate_limit_for(principal.rate_class()));
    if !decision.allowed {
        state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
        return Ok(req.into_response(with_rate_headers(rate_limited(&decision), &decision)));
    }

    // What: the operation of the route, and whether the caller may call it.
    let Some(op) = operation else {
        let routes = req.app_data::<web::Data<RouteTable>>().map(|routes| routes.get_ref());
        let response = crate::http::routes::unrouted(routes, req.method(), &routed.path);
        return Ok(req.into_response(with_rate_headers(response, &decision)));
    };
    authorized_call(&state, req, next, &routed, Some(principal), op, &decision).await
}

/// The caller of a request that is not public, or the response refusing it. A caller without
/// valid credentials costs no database work beyond what its address's bucket allows: a key the
/// cache does not know is looked up only after the bucket gives a token (a refusal after the
/// lookup takes no second one); an access token is looked up on every request (so an ended
/// session is refused at once everywhere) unless the address's bucket is already empty.
async fn identify(
    state: &AppState,
    req: &ServiceRequest,
    ip: Option<IpAddr>,
    requirement: Requirement,
) -> Result<Principal, HttpResponse> {
    let limits = &state.settings.access;
    let mut charged: Option<RateDecision> = None;
    // A publishable key is read only from its header, and a secret key never is (it would
    // then sit in a storefront's pages).
    let of_kind = |key: Arc<ApiKey>| {
        let wanted = if requirement == Requirement::Storefront { KeyKind::Publishable } else { key.kind };
        if key.kind != wanted {
            return Err(Some(Refusal::Unknown));
        }
        let principal = Principal::of_key(&key);
        if key.kind == KeyKind::Publishable {
            req.extensions_mut().insert(StorefrontKey(key));
        }
        Ok(principal)
    };
    let recognized = match credential(req.headers(), requirement) {
        Some(token) if requirement == Requirement::Storefront && !token.starts_with(PUBLISHABLE_PREFIX) => {
            Err(Some(Refusal::Unknown))
        }
        None => Err(None),
        Some(token) if token.starts_with(crate::domain::auth::ACCESS_PREFIX) => {
            if state.callers.exhausted(Bucket::Ip(ip), limits.anonymous_rate_limit) {
                let decision = state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit);
                state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
                return Err(with_rate_headers(rate_limited(&decision), &decision));
            }
            match auth::authenticate(state, token).await {
                Ok(Some(principal)) => Ok(principal),
                Ok(None) => Err(Some(Refusal::Unknown)),
                Err(err) => return Err(ApiError::from(err).error_response()),
            }
        }
        Some(token) => match access::recognize(state, token) {
            access::Recognized::Known(known) => known.map_err(Some).and_then(of_kind),
            access::Recognized::NeedsLookup { known } => {
                if !known {
                    let decision = state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit);
                    charged = Some(decision);
                    if !decision.allowed {
                        state.metrics.access_refusals.with_label_values(&["rate_limited"]).inc();
                        return Err(with_rate_headers(rate_limited(&decision), &decision));
                    }
                }
                match access::authenticate(state, token).await {
                    // A real key's lookup gives its token back: keys behind one proxy do not
                    // spend each other's budget, only secrets that match nothing do.
                    Ok(Ok(key)) => {
                        if !known {
                            state.callers.give_back(Bucket::Ip(ip), limits.anonymous_rate_limit);
                        }
                        of_kind(key)
                    }
                    Ok(Err(refusal)) => Err(Some(refusal)),
                    Err(err) => return Err(ApiError::from(err).error_response()),
                }
            }
        },
    };
    recognized.map_err(|refusal| {
        let reason = match refusal {
            None => "missing_key",
            Some(Refusal::Unknown) => "unknown_key",
            Some(Refusal::Expired) => "expired_key",
            Some(Refusal::Revoked) => "revoked_key",
        };
        state.metrics.access_refusals.with_label_values(&[reason]).inc();
        let decision = charged.unwrap_or_else(|| state.callers.take(Bucket::Ip(ip), limits.anonymous_rate_limit));
        let response = if decision.allowed { unauthenticated(refusal, requirement) } else { rate_limited(&decision) };
        with_rate_headers(response, &decision)
    })
}

fn with_rate_headers(mut response: HttpResponse, decision: &RateDecision) -> HttpResponse {
    add_rate_headers(response.headers_mut(), decision);
    response
}

/// The operation called for an authorized caller (`None` for a public operation), or refused
/// when the caller does not meet its requirement; writes (and the reads of keys and of the audit
/// log) are audited, refused or not.
async fn authorized_call(
    state: &AppState,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    routed: &Routed,
    principal: Option<Principal>,
    op: Operation,
    decision: &RateDecision,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let audited = is_write(req.method()) || AUDITED_READS.contains(&op.id.as_str());
    let (key_id, user_id, account_id) = match principal.map(|p| p.actor) {
        Some(Actor::Key(id) | Actor::Storefront(id)) => (Some(id), None, None),
        Some(Actor::User { id, .. }) => (None, Some(id), None),
        Some(Actor::Customer { account, .. }) => (None, None, Some(account)),
        None => (None, None, None),
    };
    let audit = audited.then(|| AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: crate::app::clock::now(),
        key_id,
        user_id,
        account_id,
        operation_id: op.id.clone(),
        method: req.method().to_string(),
        path: routed.path.to_string(),
        subject_id: routed.template.as_deref().and_then(|t| subject_in_path(t, &routed.path)),
        status: None,
        request_id: req.extensions().get::<RequestId>().map(ToString::to_string),
    });
    let allowed = op.requirement == Requirement::Public || principal.is_some_and(|p| op.requirement.allows(&p));
    // The person a public request named (a sign-in's user), for its entry.
    let mut person = None;
    let mut response = if !allowed {
        state.metrics.access_refusals.with_label_values(&["forbidden"]).inc();
        req.into_response(problem_response(forbidden_problem(op.requirement)))
    } else {
        req.extensions_mut().insert(Authorized { principal, operation: op.id });
        match &audit {
            Some(entry) => {
                let unit = access::AuditUnit::new(entry.clone());
                let response = access::audit_scoped(unit.clone(), next.call(req)).await?.map_into_boxed_body();
                person = unit.person();
                response
            }
            None => next.call(req).await?.map_into_boxed_body(),
        }
    };
    if let Some(mut entry) = audit {
        entry.status = Some(response.status().as_u16() as i16);
        match person {
            Some(crate::domain::access::Owner::User(id)) => entry.user_id = entry.user_id.or(Some(id)),
            Some(crate::domain::access::Owner::Account(id)) => entry.account_id = entry.account_id.or(Some(id)),
            _ => {}
        }
        if entry.subject_id.is_none() {
            entry.subject_id = subject_in_location(response.headers());
        }
        access::finish_audit(state, entry);
    }
    add_rate_headers(response.headers_mut(), decision);
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
    fn what_an_operation_declares_is_read_strictly() {
        use serde_json::json;
        let scope = |text: &str| Requirement::Scope(text.parse().expect("scope"));
        let read = |security: Value| declared_requirement(&json!({ "security": security }));
        assert_eq!(read(json!([{"api_key": ["orders:write"]}])), scope("orders:write"));
        assert_eq!(
            read(json!([{"api_key": ["orders:write"]}, {"staff_session": ["orders:write"]}])),
            scope("orders:write")
        );
        assert_eq!(read(json!([{"staff_session": []}])), Requirement::SignedIn);
        assert_eq!(read(json!([{}])), Requirement::Public);
        // Anything else is refused to everyone.
        assert_eq!(declared_requirement(&json!({})), Requirement::Undeclared);
        assert_eq!(read(json!([{"api_key": ["a:b"]}])), Requirement::Undeclared);
        assert_eq!(
            read(json!([{"api_key": ["orders:write"]}, {"staff_session": ["admin:write"]}])),
            Requirement::Undeclared
        );
        assert_eq!(read(json!([{"api_key": ["orders:write", "clients:read"]}])), Requirement::Undeclared);
        assert_eq!(
            read(json!([{}, {"api_key": ["orders:write"]}])),
            Requirement::Undeclared,
            "public or not: not both"
        );
        assert_eq!(read(json!([{"other": []}])), Requirement::Undeclared);
        assert_eq!(
            read(json!([{"staff_session": ["orders:write"]}])),
            Requirement::Undeclared,
            "a scope needs api_key"
        );
        assert_eq!(read(json!([])), Requirement::Undeclared);
    }
}
