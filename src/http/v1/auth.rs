//! `/api/v1/auth/…`: staff sign-in, token refresh, sign-out, one's sessions, profile and
//! password.

use crate::app::auth::{self, Tokens};
use crate::app::{users, AppState};
use crate::domain::auth::{Audience, Session};
use crate::domain::ids::SessionId;
use crate::http::access::{Anyone, Caller};
use crate::http::dto::{no_content, tagged, PageOf};
use crate::http::extract::{JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use crate::http::v1::users::UserResponse;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254, example = "marta@example.com")]
    pub email: String,
    #[validate(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024, format = Password, example = "a long and personal passphrase")]
    pub password: String,
    /// A label for the session, shown in the session list ("Marta's phone").
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 200, example = "Back office, Firefox")]
    pub device: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last sign-in or refresh; it works once.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "hcrm_rt_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx")]
    pub refresh_token: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    #[validate(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub current_password: String,
    /// 8 to 128 characters, not one of the most common passwords; no other rules.
    #[validate(custom(function = crate::http::validation::new_password))]
    #[schema(min_length = 8, max_length = 128, format = Password, example = "another long passphrase")]
    pub new_password: String,
}

/// Tokens for `Authorization: Bearer …`. Keep the refresh token out of reach of scripts that
/// need not see it: it stands for the whole session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensResponse {
    /// Sent with every request; works for `expires_in` seconds.
    #[schema(example = "hcrm_at_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx")]
    pub access_token: String,
    /// Exchanged at `POST /auth/refresh` for new tokens, once: presenting it a second time ends
    /// the session (a copy was stolen, or a client retried with a spent token).
    #[schema(example = "hcrm_rt_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx")]
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token stops working.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// The session these tokens belong to (as listed by `GET /auth/sessions`).
    pub session_id: SessionId,
    /// When the refresh token stops working.
    pub refresh_expires_at: DateTime<Utc>,
}

impl From<Tokens> for TokensResponse {
    fn from(t: Tokens) -> Self {
        TokensResponse {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            session_id: t.session.id,
            refresh_expires_at: t.session.expires_at,
        }
    }
}

/// The caller's address as the throttle counts it (`TRUSTED_PROXIES` decide, as in logs).
fn client_address(state: &AppState, req: &HttpRequest) -> Option<std::net::IpAddr> {
    crate::telemetry::client_address_of(req.peer_addr(), req.headers(), &state.settings.access.trusted_proxies)
}

/// Tokens are never stored by caches (RFC 6749 5.1).
pub(super) fn tokens_response(tokens: Tokens) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokensResponse::from(tokens))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: SessionId,
    /// The label given at sign-in.
    pub device: Option<String>,
    pub created_at: DateTime<Utc>,
    /// To the minute.
    pub last_used_at: DateTime<Utc>,
    /// When its refresh token stops working (each refresh moves it).
    pub expires_at: DateTime<Utc>,
    /// The session of the token making this request.
    pub current: bool,
}

pub(super) fn session_response(current: SessionId) -> impl Fn(Session) -> SessionResponse {
    move |s| SessionResponse {
        current: s.id == current,
        id: s.id,
        device: s.device,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
    }
}

/// Sign in
///
/// A staff user's email and password for an access token (minutes) and a refresh token (days),
/// sent as `Authorization: Bearer …` like an API key. Every refusal is the same 401
/// `invalid_credentials`, whether or not the email has an account, and takes as long. After
/// `AUTH_FAILURES_ALLOWED` (5) failures at one account or from one address, each further failure
/// doubles the wait before the next attempt, up to `AUTH_MAX_WAIT_SECS` (15 minutes): 429 with
/// `Retry-After`. A success forgives the account's failures.
#[utoipa::path(
    security(()),
    tag = "auth",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in", body = TokensResponse),
        (status = 401, description = "`invalid_credentials`"),
        (status = 429, description = "`rate_limited`: too many failed sign-ins at this account or from this address, or too many requests from this address"),
    )
)]
#[post("/auth/sign-in")]
pub async fn sign_in(
    _anyone: Anyone,
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(input): JsonBody<SignInRequest>,
) -> ApiResult<HttpResponse> {
    signed_in(&state, &req, Audience::Staff, input).await
}

/// A sign-in of `audience` (staff here, customers at `/store/auth/sign-in`) and its tokens.
pub(super) async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    audience: Audience,
    input: SignInRequest,
) -> ApiResult<HttpResponse> {
    let ip = client_address(state, req);
    let tokens = auth::sign_in(state, audience, input.email, input.password, input.device, ip).await?;
    Ok(tokens_response(tokens))
}

/// Refresh tokens
///
/// Exchanges a refresh token for a new access token and a new refresh token; the one sent stops
/// working. A refresh token sent a second time ends its whole session (every token of it): a
/// copy was stolen, or a client retried with a spent one; sign in again.
#[utoipa::path(
    security(()),
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokensResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, already used, or its session ended"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tokens_response(auth::refresh(&state, Audience::Staff, input.refresh_token).await?))
}

/// Sign out
///
/// Ends the session of the token making the request, at once and on every replica: its access
/// and refresh tokens stop working for every request that follows, wherever it lands.
#[utoipa::path(
    security(("staff_session" = [])),
    tag = "auth",
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/sign-out")]
pub async fn sign_out(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    auth::sign_out(&state, caller.staff()?.me()).await?;
    Ok(no_content())
}

/// List my sessions
///
/// The signed-in person's live sessions, newest first: each sign-in on each device, with when it
/// was last used. `current` marks the one making the request.
#[utoipa::path(
    security(("staff_session" = [])),
    tag = "auth",
    params(PageParams),
    responses((status = 200, description = "A page of sessions", body = PageOf<SessionResponse>))
)]
#[get("/auth/sessions")]
pub async fn list_sessions(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<SessionResponse>>> {
    let own = caller.staff()?.me();
    let page = auth::sessions(&state, own, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, session_response(own.session))))
}

/// End one of my sessions
///
/// Ends one of the signed-in person's sessions (a lost phone), at once on every replica.
/// Another person's session answers 404, as one that does not exist.
#[utoipa::path(
    security(("staff_session" = [])),
    tag = "auth",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "`session_not_found`"),
    )
)]
#[delete("/auth/sessions/{id}")]
pub async fn end_session(caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    auth::end_session(&state, caller.staff()?.me(), SessionId(*id)).await?;
    Ok(no_content())
}

/// My profile
///
/// The signed-in staff user: name, email, role and the scopes their tokens carry.
#[utoipa::path(
    security(("staff_session" = [])),
    tag = "auth",
    responses((status = 200, description = "The signed-in user", body = UserResponse))
)]
#[get("/auth/me")]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let id = caller.staff()?.user;
    Ok(tagged::<_, UserResponse>(users::get(&state, id).await?))
}

/// Change my password
///
/// Needs the current password. Every other session of the person ends at once (this one stays
/// signed in).
#[utoipa::path(
    security(("staff_session" = [])),
    tag = "auth",
    request_body = PasswordChangeRequest,
    responses((status = 204, description = "Changed; the other sessions have ended"))
)]
#[post("/auth/password")]
pub async fn change_password(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<PasswordChangeRequest>,
) -> ApiResult<HttpResponse> {
    auth::change_password(&state, caller.staff()?.me(), input.current_password, input.new_password).await?;
    Ok(no_content())
}
