//! `/api/v1/store/…`: customers register, verify their email, sign in and out, reset a forgotten
//! password, read and change their own profile, and list, read and cancel their own orders. Every `/store/me…` operation acts on the
//! signed-in customer's own records only; keys and staff tokens are refused there (403).

use crate::app::auth;
use crate::app::{customers, orders, AppState};
use crate::domain::auth::Audience;
use crate::domain::client::Client;
use crate::domain::ids::{ClientId, OrderId, SessionId};
use crate::domain::money::Money;
use crate::domain::orders::{Order, OrderFilter, OrderStatus, PaymentMethod};
use crate::http::access::{Anyone, Caller};
use crate::http::dto::{no_content, tagged, PageOf};
use crate::http::extract::{list_query, IfMatch, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use crate::http::v1::auth::{
    session_response, signed_in, tokens_response, PasswordChangeRequest, RefreshRequest, SessionResponse,
    SignInRequest, TokensResponse,
};
use crate::http::v1::orders::OrderItemResponse;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 200, example = "Lucía Pérez")]
    pub name: String,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254, example = "lucia@example.com")]
    pub email: String,
    /// 8 to 128 characters, not one of the most common passwords; no other rules.
    #[validate(custom(function = crate::http::validation::new_password))]
    #[schema(min_length = 8, max_length = 128, format = Password, example = "my own long passphrase")]
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EmailTokenRequest {
    /// The `token` query parameter of the mailed link.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "hcrm_et_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx")]
    pub token: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254, example = "lucia@example.com")]
    pub email: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    /// The `token` query parameter of the mailed link.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "hcrm_et_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx")]
    pub token: String,
    /// 8 to 128 characters, not one of the most common passwords.
    #[validate(custom(function = crate::http::validation::new_password))]
    #[schema(min_length = 8, max_length = 128, format = Password, example = "a new long passphrase")]
    pub new_password: String,
}

/// What a request that mails a link answers, whatever the email's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    #[schema(example = "If the address can receive it, a message with a link is on its way.")]
    pub detail: &'static str,
}

fn accepted() -> HttpResponse {
    HttpResponse::Accepted()
        .json(AcceptedResponse { detail: "If the address can receive it, a message with a link is on its way." })
}

/// Only the fields present change; `null` clears the phone. The email changes only through its
/// own verification (not here).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatchRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = crate::http::validation::phone))]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$")]
    pub phone: Option<Option<String>>,
}

/// The signed-in customer as the store shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    /// The client this account is.
    pub client_id: ClientId,
    #[schema(example = "Lucía Pérez")]
    pub name: String,
    #[schema(example = "lucia@example.com")]
    pub email: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Client> for ProfileResponse {
    fn from(c: Client) -> Self {
        ProfileResponse {
            client_id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Register a customer account
///
/// Creates the client (PostgreSQL record and MongoDB document, as any client) and the account,
/// and mails a link that verifies the email; the account signs in once it is followed. Where a
/// client with this email already exists, the account is attached to it only when the link is
/// followed — never by registering alone. The answer is the same 202 whether or not the email
/// already had an account (its owner is mailed a note instead), so registering tells nobody who
/// has one.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = RegisterRequest,
    responses((status = 202, description = "Registered, or already registered: see the mail", body = AcceptedResponse))
)]
#[post("/store/register")]
pub async fn register_customer(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    customers::register(&state, input.name, input.email, input.password).await?;
    Ok(accepted())
}

/// Verify an email
///
/// The token of the mailed link (single use, expiring after `AUTH_VERIFY_HOURS`). The account
/// may sign in from now on, as the client with this email.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = EmailTokenRequest,
    responses(
        (status = 204, description = "Verified"),
        (status = 401, description = "`invalid_token`: used, expired, replaced by a newer link, or never issued"),
        (status = 409, description = "`client_gone`: the client with this email was deleted meanwhile"),
    )
)]
#[post("/store/auth/verify-email")]
pub async fn verify_customer_email(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<EmailTokenRequest>,
) -> ApiResult<HttpResponse> {
    customers::verify_email(&state, input.token).await?;
    Ok(no_content())
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254, example = "lucia.perez@example.org")]
    pub new_email: String,
    /// The account's current password.
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1, max_length = 128, format = Password, example = "my own long passphrase")]
    pub password: String,
}

/// Change my email
///
/// The current password proves it is the customer. A link goes to the new address (the change
/// happens only when it is followed: `POST /store/auth/confirm-email`) and a notice to the
/// current one. The answer is the same whether or not another account has the new address.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "A link is on its way to the new address", body = AcceptedResponse),
        (status = 422, description = "Invalid fields; `password` `incorrect`, `new_email` `unchanged`"),
    )
)]
#[post("/store/me/email")]
pub async fn change_my_email(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<EmailChangeRequest>,
) -> ApiResult<HttpResponse> {
    let account = caller.customer()?.account;
    customers::request_email_change(&state, account, input.password, input.new_email).await?;
    Ok(accepted())
}

/// Confirm a new email
///
/// The token of the link mailed to the new address (single use, expiring after
/// `AUTH_VERIFY_HOURS`): the account's email, and its client's, become that address.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = EmailTokenRequest,
    responses(
        (status = 204, description = "The email is changed"),
        (status = 401, description = "`invalid_token`: used, expired, replaced by a newer link, or never issued"),
        (status = 409, description = "`email_taken`: another account or client took the address meanwhile"),
    )
)]
#[post("/store/auth/confirm-email")]
pub async fn confirm_customer_email(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<EmailTokenRequest>,
) -> ApiResult<HttpResponse> {
    customers::confirm_email_change(&state, input.token).await?;
    Ok(no_content())
}

/// Sign in to the store
///
/// A customer's email and password for an access token and a refresh token, as staff sign in
/// (the same rules: one 401 `invalid_credentials` for every refusal, failures throttled per
/// account and address). A customer whose email is not verified yet, having given the right
/// password, gets 403 `email_not_verified`.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in", body = TokensResponse),
        (status = 401, description = "`invalid_credentials`"),
        (status = 403, description = "`email_not_verified`"),
        (status = 429, description = "`rate_limited`: too many failed sign-ins at this account or from this address, or too many requests from this address"),
    )
)]
#[post("/store/auth/sign-in")]
pub async fn store_sign_in(
    _anyone: Anyone,
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(input): JsonBody<SignInRequest>,
) -> ApiResult<HttpResponse> {
    signed_in(&state, &req, Audience::Customers, input).await
}

/// Refresh store tokens
///
/// A customer's refresh token for new tokens, once; presented again it ends the session (see
/// `POST /auth/refresh`). A staff refresh token is not valid here.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokensResponse),
        (status = 401, description = "`invalid_refresh_token`"),
    )
)]
#[post("/store/auth/refresh")]
pub async fn store_refresh(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tokens_response(auth::refresh(&state, Audience::Customers, input.refresh_token).await?))
}

/// Sign out of the store
///
/// Ends the customer's current session at once, on every replica.
#[utoipa::path(security(("store_session" = [])), tag = "store", responses((status = 204, description = "Signed out")))]
#[post("/store/auth/sign-out")]
pub async fn store_sign_out(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    auth::sign_out(&state, caller.customer()?.me()).await?;
    Ok(no_content())
}

/// List my store sessions
///
/// The customer's live sessions (their phone, their browser), newest first; `current` marks the
/// one asking.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(PageParams),
    responses((status = 200, description = "A page of sessions", body = PageOf<SessionResponse>))
)]
#[get("/store/auth/sessions")]
pub async fn list_store_sessions(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<SessionResponse>>> {
    let me = caller.customer()?.me();
    let page = auth::sessions(&state, me, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, session_response(me.session))))
}

/// End one of my store sessions
///
/// Another person's session answers 404, as one that does not exist.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204, description = "Ended"), (status = 404, description = "`session_not_found`"))
)]
#[delete("/store/auth/sessions/{id}")]
pub async fn end_store_session(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    auth::end_session(&state, caller.customer()?.me(), SessionId(*id)).await?;
    Ok(no_content())
}

/// Change my store password
///
/// Needs the current password; every other session of the customer ends.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    request_body = PasswordChangeRequest,
    responses((status = 204, description = "Changed; the other sessions have ended"))
)]
#[post("/store/auth/password")]
pub async fn change_store_password(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<PasswordChangeRequest>,
) -> ApiResult<HttpResponse> {
    auth::change_password(&state, caller.customer()?.me(), input.current_password, input.new_password).await?;
    Ok(no_content())
}

/// Ask for a password reset
///
/// Mails a link (single use, under an hour) to the account with this email. The answer is the
/// same 202 whether or not the email has an account.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = ResetRequest,
    responses((status = 202, description = "If the email has an account, a link is on its way", body = AcceptedResponse))
)]
#[post("/store/auth/password-reset")]
pub async fn request_password_reset(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<ResetRequest>,
) -> ApiResult<HttpResponse> {
    customers::request_reset(&state, input.email).await?;
    Ok(accepted())
}

/// Reset the password
///
/// The mailed link's token and the new password. Every session of the account ends; the link
/// proved the mailbox, so an unverified email counts as verified.
#[utoipa::path(
    security(()),
    tag = "store",
    request_body = ResetConfirmRequest,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 401, description = "`invalid_token`: used, expired, replaced by a newer link, or never issued"),
    )
)]
#[post("/store/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    _anyone: Anyone,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<ResetConfirmRequest>,
) -> ApiResult<HttpResponse> {
    customers::confirm_reset(&state, input.token, input.new_password).await?;
    Ok(no_content())
}

/// My profile
///
/// The signed-in customer's client record as the store shows it: name, email, phone.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    responses((status = 200, description = "The customer", body = ProfileResponse))
)]
#[get("/store/me")]
pub async fn get_store_profile(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, ProfileResponse>(customers::profile(&state, caller.customer()?.client).await?))
}

/// Change my profile
///
/// The customer's name and phone; `If-Match` with the profile's `ETag` refuses to overwrite a
/// change made meanwhile (412).
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(IfMatch),
    request_body = ProfilePatchRequest,
    responses((status = 200, description = "The customer as changed", body = ProfileResponse))
)]
#[patch("/store/me")]
pub async fn update_store_profile(
    caller: Caller,
    state: web::Data<AppState>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<ProfilePatchRequest>,
) -> ApiResult<HttpResponse> {
    let client = caller.customer()?.client;
    let updated = customers::update_profile(&state, client, input.name, input.phone, precondition).await?;
    Ok(tagged::<_, ProfileResponse>(updated))
}

list_query! {
    /// Filters for `GET /store/me/orders`; newest first.
    pub struct StoreOrderListQuery {
        #[param(inline)]
        pub status: Option<OrderStatus>,
    }
}

/// One of the customer's orders, as the store shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreOrderResponse {
    pub id: OrderId,
    pub status: OrderStatus,
    /// Whether `POST /store/me/orders/{id}/cancel` may cancel it now (only while pending).
    pub cancellable: bool,
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
    pub coupon_code: Option<String>,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    /// Payments less refunds.
    pub amount_paid: Money,
    pub amount_refunded: Money,
    /// What is still owed.
    pub balance: Money,
    pub items: Vec<OrderItemResponse>,
    /// When it reached each status, oldest first (staff notes are not shown).
    pub status_history: Vec<StoreStatusChange>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreStatusChange {
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
}

impl From<Order> for StoreOrderResponse {
    fn from(o: Order) -> Self {
        let balance = o.balance();
        StoreOrderResponse {
            cancellable: o.status == OrderStatus::Pending,
            id: o.id,
            status: o.status,
            shipping_address: o.shipping_address,
            payment_method: o.payment_method,
            coupon_code: o.coupon_code,
            subtotal: o.subtotal,
            discount: o.discount,
            total: o.total,
            amount_paid: o.amount_paid,
            amount_refunded: o.amount_refunded,
            balance,
            items: o.items.into_iter().map(Into::into).collect(),
            status_history: o
                .status_history
                .into_iter()
                .map(|c| StoreStatusChange { status: c.to, at: c.changed_at })
                .collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// List my orders
///
/// The signed-in customer's orders, newest first, optionally of one status.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(StoreOrderListQuery),
    responses((status = 200, description = "A page of the customer's orders", body = PageOf<StoreOrderResponse>))
)]
#[get("/store/me/orders")]
pub async fn list_my_orders(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<StoreOrderListQuery>,
) -> ApiResult<web::Json<PageOf<StoreOrderResponse>>> {
    let filter = OrderFilter { client_id: Some(caller.customer()?.client), status: query.status, ..Default::default() };
    let page = orders::list(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StoreOrderResponse::from)))
}

/// Get my order
///
/// One of the signed-in customer's orders with its lines and totals. Another client's order
/// answers 404, as one that does not exist.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = StoreOrderResponse),
        (status = 404, description = "`order_not_found`"),
    )
)]
#[get("/store/me/orders/{id}")]
pub async fn get_my_order(caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let order = orders::get_own(&state, caller.customer()?.client, OrderId(*id)).await?;
    Ok(tagged::<_, StoreOrderResponse>(order))
}

/// Cancel my order
///
/// While it is pending: the stock and any coupon redemption go back. Another client's order
/// answers 404; one past pending 409 (staff can still cancel a confirmed one).
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Order id"), IfMatch),
    responses(
        (status = 200, description = "The cancelled order", body = StoreOrderResponse),
        (status = 404, description = "`order_not_found`"),
        (status = 409, description = "`invalid_transition`: only a pending order can be cancelled by its customer"),
    )
)]
#[post("/store/me/orders/{id}/cancel")]
pub async fn cancel_my_order(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    let order = orders::cancel_own(&state, caller.customer()?.client, OrderId(*id), precondition).await?;
    Ok(tagged::<_, StoreOrderResponse>(order))
}
