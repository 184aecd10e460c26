//! `/api/v1/users`: staff users (admin only).

use crate::app::{users, AppState};
use crate::domain::access::Role;
use crate::domain::ids::{Located, UserId};
use crate::domain::users::{NewUser, User, UserChanges};
use crate::http::access::Caller;
use crate::http::dto::{created_tagged, tagged, PageOf};
use crate::http::extract::{IfMatch, JsonBody, Query, SearchParams};
use crate::http::problem::ApiResult;
use crate::http::v1::access::NamedRole;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 200, example = "Marta Gómez")]
    pub name: String,
    /// What the user signs in with; unique regardless of case.
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254, example = "marta@example.com")]
    pub email: String,
    pub role: NamedRole,
    /// The first password: 8 to 128 characters, not one of the most common passwords. The user
    /// changes it with `POST /auth/password`.
    #[validate(custom(function = crate::http::validation::new_password))]
    #[schema(min_length = 8, max_length = 128, format = Password, example = "a long and personal passphrase")]
    pub password: String,
}

/// Only the fields present change. A new `role`, or `active: false`, ends every session of the
/// user at once (their tokens stop working on every replica).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserPatchRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub role: Option<NamedRole>,
    pub active: Option<bool>,
}

impl From<UserPatchRequest> for UserChanges {
    fn from(r: UserPatchRequest) -> Self {
        UserChanges { name: r.name, role: r.role.map(Role::from), active: r.active }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: UserId,
    #[schema(example = "Marta Gómez")]
    pub name: String,
    #[schema(example = "marta@example.com")]
    pub email: String,
    pub role: Role,
    /// What the user's access tokens may do: the role's scopes.
    #[schema(value_type = Vec<crate::http::v1::access::ScopeName>)]
    pub scopes: Vec<String>,
    /// A disabled user cannot sign in, and their sessions have ended.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        UserResponse {
            scopes: u.role.scopes().iter().map(ToString::to_string).collect(),
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Create a staff user
///
/// A person who signs in (`POST /auth/sign-in`) with this email and password, and whose access
/// tokens carry the role's scopes, as an API key with that role would.
#[utoipa::path(
    security(("api_key" = ["admin:write"])),
    tag = "users",
    request_body = UserRequest,
    responses(
        (status = 201, description = "User created", body = UserResponse,
            headers(("Location" = String, description = "URL of the new user"))),
        (status = 409, description = "`email_taken`"),
    )
)]
#[post("/users")]
pub async fn create_user(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<UserRequest>,
) -> ApiResult<HttpResponse> {
    let new = NewUser { name: input.name, email: input.email, role: input.role.into() };
    let user = users::create(&state, new, input.password).await?;
    Ok(created_tagged::<_, UserResponse>(user.id.path(), user))
}

/// List staff users
///
/// In creation order; `q` searches name and email.
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "users",
    params(SearchParams),
    responses((status = 200, description = "A page of users", body = PageOf<UserResponse>))
)]
#[get("/users")]
pub async fn list_users(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<SearchParams>,
) -> ApiResult<web::Json<PageOf<UserResponse>>> {
    let page = users::list(&state, query.search(), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, UserResponse::from)))
}

/// Get a staff user
///
/// The user's name, email, role with its scopes, and whether they may sign in; never their
/// password or its hash.
#[utoipa::path(
    security(("api_key" = ["admin:read"])),
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 404, description = "`user_not_found`"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, UserResponse>(users::get(&state, UserId(*id)).await?))
}

/// Update a staff user
///
/// Rename, change the role, or disable (`active: false`) or enable a user. A new role or
/// disabling ends every session of the user at once.
#[utoipa::path(
    security(("api_key" = ["admin:write"])),
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), IfMatch),
    request_body = UserPatchRequest,
    responses(
        (status = 200, description = "The user as changed", body = UserResponse),
        (status = 404, description = "`user_not_found`"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<UserPatchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, UserResponse>(users::update(&state, UserId(*id), patch.into(), precondition).await?))
}
