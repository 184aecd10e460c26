//! `/api/v1/clients/{id}/account`: staff read a client's customer account and disable or enable
//! it (the customer signs in to the store with it; see `store.rs`).

use crate::app::{customers, AppState};
use crate::domain::customers::CustomerAccount;
use crate::domain::ids::{AccountId, ClientId};
use crate::http::access::Caller;
use crate::http::dto::tagged;
use crate::http::extract::{IfMatch, JsonBody};
use crate::http::problem::ApiResult;
use actix_web::{get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchRequest {
    /// `false` disables the account: every session of it ends at once and it cannot sign in;
    /// `true` enables it again.
    pub active: bool,
}

/// A client's customer account, as staff see it (never its password or its links).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerAccountResponse {
    pub id: AccountId,
    /// `null` while the account waits for its email to be verified (a client with the email
    /// existed before the registration).
    pub client_id: Option<ClientId>,
    #[schema(example = "lucia@example.com")]
    pub email: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CustomerAccount> for CustomerAccountResponse {
    fn from(a: CustomerAccount) -> Self {
        CustomerAccountResponse {
            id: a.id,
            client_id: a.client_id,
            email: a.email,
            email_verified_at: a.email_verified_at,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Get a client's customer account
///
/// Whether the client signs in to the store: the account's email, whether it is verified, and
/// whether it is active.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The account", body = CustomerAccountResponse),
        (status = 404, description = "`customer_account_not_found`: the client has no account"),
    )
)]
#[get("/clients/{id}/account")]
pub async fn get_customer_account(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, CustomerAccountResponse>(customers::account_of(&state, ClientId(*id)).await?))
}

/// Disable or enable a client's customer account
///
/// `active: false` ends every session of the account at once, on every replica, and refuses its
/// sign-ins (as a wrong password, 401); `active: true` lets it sign in again.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), IfMatch),
    request_body = AccountPatchRequest,
    responses(
        (status = 200, description = "The account as changed", body = CustomerAccountResponse),
        (status = 404, description = "`customer_account_not_found`: the client has no account"),
    )
)]
#[patch("/clients/{id}/account")]
pub async fn update_customer_account(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<AccountPatchRequest>,
) -> ApiResult<HttpResponse> {
    let account = customers::set_account_active(&state, ClientId(*id), input.active, precondition).await?;
    Ok(tagged::<_, CustomerAccountResponse>(account))
}
