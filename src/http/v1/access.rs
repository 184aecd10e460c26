//! `/api/v1/api-keys` and `/api/v1/audit-log` (admin only).

use crate::app::{access, AppState};
use crate::domain::access::{is_origin, ApiKey, AuditEntry, AuditFilter, KeyKind, NewApiKey, Role, Scope};
use crate::domain::free_form::FieldIssue;
use crate::domain::ids::{AccountId, ApiKeyId, AuditEntryId, Located, UserId};
use crate::domain::time::Timestamp;
use crate::http::access::Caller;
use crate::http::dto::{created, no_content, PageOf};
use crate::http::extract::{list_query, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use crate::http::validation::rules;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

/// A scope: a resource family and `read` or `write` (which includes `read`).
pub struct ScopeName;

impl utoipa::PartialSchema for ScopeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Scope::all().iter().map(ToString::to_string)))
            .examples([serde_json::json!("orders:write")])
            .into()
    }
}

impl ToSchema for ScopeName {}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = api_key_rules, skip_on_field_errors = false))]
pub struct ApiKeyRequest {
    /// `secret` (the default) or `publishable`: a storefront's key for the public catalog,
    /// with `allowed_origins` and no role or scopes.
    pub kind: Option<KeyKind>,
    /// What the key is for, to tell keys apart.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, example = "Mobile app (production)")]
    pub name: String,
    /// A named role; leave it out and list `scopes` for a key of its own.
    pub role: Option<NamedRole>,
    /// The scopes of a key without a role (1 to 16).
    #[validate(length(min = 1, max = 16))]
    #[schema(min_items = 1, max_items = 16, value_type = Option<Vec<ScopeName>>, example = json!(["clients:read", "orders:write"]))]
    pub scopes: Option<Vec<String>>,
    /// When the key stops working; never when absent.
    pub expires_at: Option<Timestamp>,
    /// A publishable key's browser origins (1 to 16), exactly as browsers send them:
    /// `scheme://host[:port]`, no path. Browsers on other origins cannot use the key, and the
    /// store's CORS answers follow these lists.
    #[validate(length(min = 1, max = 16))]
    #[schema(min_items = 1, max_items = 16, example = json!(["https://shop.example.com"]))]
    pub allowed_origins: Option<Vec<String>>,
}

/// The roles a key can be given.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NamedRole {
    Admin,
    Manager,
    Sales,
    Inventory,
    Support,
    Readonly,
}

impl From<NamedRole> for Role {
    fn from(r: NamedRole) -> Self {
        match r {
            NamedRole::Admin => Role::Admin,
            NamedRole::Manager => Role::Manager,
            NamedRole::Sales => Role::Sales,
            NamedRole::Inventory => Role::Inventory,
            NamedRole::Support => Role::Support,
            NamedRole::Readonly => Role::Readonly,
        }
    }
}

fn api_key_rules(request: &ApiKeyRequest) -> Result<(), ValidationError> {
    let mut issues = Vec::new();
    match (request.kind.unwrap_or(KeyKind::Secret), &request.role, &request.scopes) {
        (KeyKind::Secret, None, None) => {
            issues.push(FieldIssue::new("role", "required", "give a role or a list of scopes"))
        }
        (KeyKind::Secret, Some(_), Some(_)) => {
            issues.push(FieldIssue::new("scopes", "not_allowed", "give either a role or a list of scopes, not both"))
        }
        (KeyKind::Secret, _, _) => {}
        (KeyKind::Publishable, role, scopes) => {
            if role.is_some() {
                issues.push(FieldIssue::new("role", "not_allowed", "a publishable key holds no role"));
            }
            if scopes.is_some() {
                issues.push(FieldIssue::new("scopes", "not_allowed", "a publishable key holds no scope"));
            }
        }
    }
    match (request.kind.unwrap_or(KeyKind::Secret), &request.allowed_origins) {
        (KeyKind::Publishable, None) => {
            issues.push(FieldIssue::new("allowed_origins", "required", "name the browser origins that may use the key"))
        }
        (KeyKind::Secret, Some(_)) => {
            issues.push(FieldIssue::new("allowed_origins", "not_allowed", "only publishable keys name origins"))
        }
        _ => {}
    }
    let origins = request.allowed_origins.iter().flatten();
    for (i, origin) in origins.clone().enumerate() {
        if !is_origin(origin) {
            issues.push(FieldIssue::new(
                format!("allowed_origins[{i}]"),
                "invalid_origin",
                format!("{origin:?} is not an origin: scheme://host[:port], no path, no trailing slash"),
            ));
        } else if origins.clone().take(i).any(|earlier| earlier == origin) {
            issues.push(FieldIssue::new(format!("allowed_origins[{i}]"), "duplicate", "listed twice"));
        }
    }
    for (i, scope) in request.scopes.iter().flatten().enumerate() {
        if scope.parse::<Scope>().is_err() {
            issues.push(FieldIssue::new(format!("scopes[{i}]"), "unknown_scope", format!("{scope:?} is not a scope")));
        }
    }
    rules(issues)
}

impl From<ApiKeyRequest> for NewApiKey {
    fn from(r: ApiKeyRequest) -> Self {
        let scopes: Vec<Scope> = r.scopes.iter().flatten().filter_map(|s| s.parse().ok()).collect();
        NewApiKey {
            kind: r.kind.unwrap_or(KeyKind::Secret),
            name: r.name,
            role: r.role.map_or(Role::Custom, Role::from),
            scopes,
            expires_at: r.expires_at.map(Into::into),
            allowed_origins: r.allowed_origins.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: ApiKeyId,
    pub kind: KeyKind,
    #[schema(example = "Mobile app (production)")]
    pub name: String,
    pub role: Role,
    /// What the key may do (a named role's scopes, or the key's own).
    #[schema(value_type = Vec<ScopeName>)]
    pub scopes: Vec<String>,
    /// Every key of its kind starts with it: `hcrm_`, or `hcrm_pk_` for a publishable key.
    #[schema(example = "hcrm_")]
    pub prefix: &'static str,
    /// The key's last four characters.
    #[schema(example = "x9Qa")]
    pub last_four: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// To the minute; `null` when never used.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// A publishable key's browser origins; empty for a secret key.
    #[schema(example = json!([]))]
    pub allowed_origins: Vec<String>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        ApiKeyResponse {
            id: k.id,
            kind: k.kind,
            name: k.name,
            role: k.role,
            scopes: k.scopes.iter().map(ToString::to_string).collect(),
            prefix: k.kind.prefix(),
            last_four: k.last_four,
            expires_at: k.expires_at,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            allowed_origins: k.allowed_origins,
        }
    }
}

/// A new key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// The key: a secret one goes in `Authorization: Bearer <key>`, a publishable one in
    /// `X-Publishable-Key: <key>` (from the storefront's pages). Only its hash is kept, so it cannot
    /// be shown again: a replay of the creating request (same `Idempotency-Key`) answers `null`
    /// here, with `secret_withheld: true`.
    #[schema(example = "hcrm_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5")]
    pub key: Option<String>,
    /// `true` in a replay: the secret was shown once and is stored nowhere.
    pub secret_withheld: bool,
}

list_query! {
    /// Filters for `GET /audit-log`; newest first.
    pub struct AuditListQuery {
        /// Writes made with this key.
        pub key_id: Option<Uuid>,
        /// Requests of this staff user: made in their sessions, or signing them in.
        pub user_id: Option<Uuid>,
        /// Requests of this customer account: made in their store sessions, or signing them in.
        pub account_id: Option<Uuid>,
        /// Writes about this resource (its id).
        #[validate(custom(function = crate::http::validation::search_text))]
        #[param(max_length = 100)]
        #[validate(length(max = 100))]
        pub subject_id: Option<String>,
        /// At or after this instant (RFC 3339, years 0001 to 9999).
        pub from: Option<Timestamp>,
        /// At or before this instant.
        pub to: Option<Timestamp>,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: AuditEntryId,
    pub occurred_at: DateTime<Utc>,
    /// The key that made the request.
    pub key_id: Option<ApiKeyId>,
    /// The staff user who made the request in a session, or whom a sign-in or refresh was for.
    pub user_id: Option<UserId>,
    /// The customer account that made the request in a store session, or whom a store sign-in,
    /// refresh, verification or reset was for.
    pub account_id: Option<AccountId>,
    /// The spec's `operationId`.
    #[schema(example = "create_client")]
    pub operation_id: String,
    #[schema(example = "POST")]
    pub method: String,
    #[schema(example = "/api/v1/clients")]
    pub path: String,
    /// The first id in the path, or the id of the resource the write created (recorded with the
    /// status).
    pub subject_id: Option<String>,
    /// The response's status; `null` when the server died before recording it: before
    /// answering, or in the few milliseconds (`AUDIT_BATCH_MS`) before the outcome's batch.
    #[schema(example = 201)]
    pub status: Option<i16>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        AuditEntryResponse {
            id: e.id,
            occurred_at: e.occurred_at,
            key_id: e.key_id,
            user_id: e.user_id,
            account_id: e.account_id,
            operation_id: e.operation_id,
            method: e.method,
            path: e.path,
            subject_id: e.subject_id,
            status: e.status,
            request_id: e.request_id,
        }
    }
}

/// Create an API key
///
/// A secret key with a named role, or (without one) a list of scopes; or, with `kind:
/// "publishable"` and `allowed_origins`, a storefront's key that reads the public catalog
/// (`/store/products`, `/store/categories`, `/store/workshops`) and nothing else. The secret is in `key`, shown this
/// once: only its SHA-256 is stored.
#[utoipa::path(
    security(("api_key" = ["admin:write"])),
    tag = "access",
    request_body = ApiKeyRequest,
    responses(
        (status = 201, description = "Key created; `key` is shown this once", body = CreatedApiKeyResponse,
            headers(("Location" = String, description = "URL of the new key"))),
    )
)]
#[post("/api-keys")]
pub async fn create_api_key(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<ApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let (key, secret) = access::create_key(&state, input.into()).await?;
    let location = key.id.path();
    Ok(created(location, &CreatedApiKeyResponse { api_key: key.into(), key: Some(secret), secret_withheld: false }))
}

/// List API keys
///
/// Newest first, revoked ones too. Secrets are never listed.
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "access",
    params(PageParams),
    responses((status = 200, description = "A page of keys", body = PageOf<ApiKeyResponse>))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<ApiKeyResponse>>> {
    let page = access::list_keys(&state, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, ApiKeyResponse::from)))
}

/// Get an API key
///
/// The key's name, role, scopes, rate limit, expiry and last use; its secret was shown once, at
/// creation, and is never returned again. A revoked key stays readable, with `revoked_at`.
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "access",
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 200, description = "The key (without its secret)", body = ApiKeyResponse),
        (status = 404, description = "`api_key_not_found`"),
    )
)]
#[get("/api-keys/{id}")]
pub async fn get_api_key(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<ApiKeyResponse>> {
    Ok(web::Json(access::get_key(&state, ApiKeyId(*id)).await?.into()))
}

/// Revoke an API key
///
/// The key stops working at once on this server and within `API_KEY_CACHE_SECS` (5 s by
/// default) on every other replica. It stays listed, with `revoked_at`. Revoking a revoked key
/// changes nothing.
#[utoipa::path(
    security(("api_key" = ["admin:write"])),
    tag = "access",
    params(("id" = Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`api_key_not_found`"),
    )
)]
#[delete("/api-keys/{id}")]
pub async fn revoke_api_key(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    access::revoke_key(&state, ApiKeyId(*id)).await?;
    Ok(no_content())
}

/// List the audit log
///
/// Every write under `/api/v1` — who (key or staff user), what (operation, method, path, subject), when,
/// the outcome (status) and the request id — newest first. An entry is written in the same
/// transaction as the write it records.
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "access",
    params(AuditListQuery),
    responses((status = 200, description = "A page of entries", body = PageOf<AuditEntryResponse>))
)]
#[get("/audit-log")]
pub async fn list_audit_log(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<AuditListQuery>,
) -> ApiResult<web::Json<PageOf<AuditEntryResponse>>> {
    let filter = AuditFilter {
        key_id: query.key_id.map(ApiKeyId),
        user_id: query.user_id.map(UserId),
        account_id: query.account_id.map(AccountId),
        subject_id: query.subject_id.clone(),
        from: query.from.map(Into::into),
        to: query.to.map(Into::into),
    };
    let page = access::list_audit(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, AuditEntryResponse::from)))
}

/// Get an audit entry
///
/// One write as the API recorded it: the key that made it, the operation, the resource it was
/// about, the outcome and the request id (the `X-Request-Id` the response carried).
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "access",
    params(("id" = Uuid, Path, description = "Entry id")),
    responses(
        (status = 200, description = "The entry", body = AuditEntryResponse),
        (status = 404, description = "`audit_entry_not_found`"),
    )
)]
#[get("/audit-log/{id}")]
pub async fn get_audit_entry(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<AuditEntryResponse>> {
    Ok(web::Json(access::get_audit_entry(&state, AuditEntryId(*id)).await?.into()))
}
