//! `/api/v1/payments` and their refunds

use crate::app::{payments, AppState};
use crate::domain::ids::{ClientId, Located, Nested, PaymentId, RefundId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::{
    Failure, NewPayment, NewRefund, Payment, PaymentFilter, PaymentStatus, Refund, RefundStatus, Step, StepName,
    StepStatus, Subject, SubjectType,
};
use crate::domain::time::Timestamp;
use crate::http::access::Caller;
use crate::http::dto::{created, PageOf};
use crate::http::extract::{list_query, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

/// What a payment pays for.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectRef {
    #[serde(rename = "type")]
    pub kind: SubjectType,
    /// The order's, enrollment's or subscription's id.
    pub id: Uuid,
}

impl From<Subject> for SubjectRef {
    fn from(subject: Subject) -> Self {
        SubjectRef { kind: subject.kind(), id: subject.id() }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub subject: SubjectRef,
    /// More than 0 and at most what the subject still owes (less what payments in progress
    /// hold).
    #[validate(custom(function = crate::http::validation::positive))]
    #[schema(example = "49.90")]
    pub amount: Money,
    /// `card` and `paypal` go through the gateway and need a `token`; `cash` and
    /// `bank_transfer` are recorded by staff and take none.
    pub method: PaymentMethod,
    /// The gateway's token. Sandbox: `tok_visa` (succeeds), `tok_declined`,
    /// `tok_insufficient_funds`, `tok_processing_error` (transient: retried, then fails),
    /// `tok_slow` (answers after a few seconds: 202).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, example = "tok_visa")]
    pub token: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Order #1042")]
    pub description: Option<String>,
}

impl From<PaymentRequest> for NewPayment {
    fn from(r: PaymentRequest) -> Self {
        NewPayment {
            subject: Subject::new(r.subject.kind, r.subject.id),
            amount: r.amount,
            method: r.method,
            token: r.token,
            description: r.description,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// What to refund; everything the payment still holds when absent.
    #[validate(custom(function = crate::http::validation::positive))]
    #[schema(example = "10.00")]
    pub amount: Option<Money>,
    #[validate(length(min = 1, max = 500), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 500, example = "Customer returned the goods")]
    pub reason: String,
}

list_query! {
    /// Filters for `GET /payments`, newest first.
    pub struct PaymentListQuery {
        /// Payments for this order, enrollment or subscription.
        pub subject_id: Option<Uuid>,
        pub client_id: Option<Uuid>,
        #[param(inline)]
        pub status: Option<PaymentStatus>,
        #[param(inline)]
        pub method: Option<PaymentMethod>,
        /// Payments created at or after this instant (RFC 3339, years 0001 to 9999).
        pub created_from: Option<Timestamp>,
        /// Payments created before this instant (RFC 3339, years 0001 to 9999).
        pub created_until: Option<Timestamp>,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepResponse {
    pub step: StepName,
    pub status: StepStatus,
    pub attempts: i32,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Step> for StepResponse {
    fn from(s: Step) -> Self {
        StepResponse {
            step: s.name,
            status: s.status,
            attempts: s.attempts,
            error: s.error,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResponse {
    pub id: PaymentId,
    pub subject: SubjectRef,
    pub client_id: ClientId,
    pub amount: Money,
    /// Refunds made or in progress.
    pub amount_refunded: Money,
    pub method: PaymentMethod,
    /// `processing` until the gateway answered (poll this resource); `refunded` once the whole
    /// amount went back.
    pub status: PaymentStatus,
    /// Why it failed (`card_declined`, `insufficient_funds`, `processing_error`, …), or why
    /// it was refunded automatically (`subject_unavailable`).
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub description: Option<String>,
    /// The gateway's charge id.
    pub gateway_reference: Option<String>,
    /// The saga's steps in order: reserve, charge, apply, and compensate when the subject
    /// could no longer take the money (empty for payments recorded before the ledger).
    pub steps: Vec<StepResponse>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Payment> for PaymentResponse {
    fn from(p: Payment) -> Self {
        let (failure_code, failure_message) = failure_fields(p.failure);
        PaymentResponse {
            id: p.id,
            subject: p.subject.into(),
            client_id: p.client_id,
            amount: p.amount,
            amount_refunded: p.amount_refunded,
            method: p.method,
            status: p.status,
            failure_code,
            failure_message,
            description: p.description,
            gateway_reference: p.gateway_reference,
            steps: p.steps.into_iter().map(Into::into).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            completed_at: p.completed_at,
        }
    }
}

/// `failure_code` and `failure_message`, as payments and refunds write them.
pub(crate) fn failure_fields(failure: Option<Failure>) -> (Option<String>, Option<String>) {
    failure.map(|f| (Some(f.code), Some(f.message))).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub reason: String,
    /// Made by the payment saga because the subject could no longer take the money.
    pub automatic: bool,
    pub status: RefundStatus,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// The gateway's refund id (none for money staff paid back).
    pub gateway_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Refund> for RefundResponse {
    fn from(r: Refund) -> Self {
        let (failure_code, failure_message) = failure_fields(r.failure);
        RefundResponse {
            id: r.id,
            payment_id: r.payment_id,
            amount: r.amount,
            reason: r.reason,
            automatic: r.automatic,
            status: r.status,
            failure_code,
            failure_message,
            gateway_reference: r.gateway_reference,
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
        }
    }
}

/// Whether the caller asked not to wait (`Prefer: respond-async`, RFC 7240).
fn prefers_async(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all("prefer")
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split([',', ';']).any(|token| token.trim().eq_ignore_ascii_case("respond-async")))
}

/// 201 with the record once final, 202 (and `Retry-After`) while it is still `processing`.
pub(crate) fn accepted_or_created<T: Serialize>(location: String, processing: bool, body: &T) -> HttpResponse {
    if processing {
        HttpResponse::Accepted()
            .insert_header((header::LOCATION, location))
            .insert_header((header::RETRY_AFTER, "1"))
            .json(body)
    } else {
        created(location, body)
    }
}

/// Take a payment
///
/// Pays towards an order, an enrollment or a subscription. `cash` and `bank_transfer` are
/// recorded at once (201, `succeeded`). `card` and `paypal` are charged through the gateway
/// with the `token`: when the gateway answers within `PAYMENT_SYNC_WAIT_MS` the answer is 201
/// with `succeeded` or `failed` (`failure_code` says why); otherwise, or with
/// `Prefer: respond-async`, 202 with `status: processing` and `Location` to poll.
///
/// Never more than the balance: the amount is reserved against the subject first, so
/// simultaneous payments never together exceed what is owed (409 `overpayment`, with
/// `details.balance`). Paid in full, an order becomes `confirmed`, an enrollment `paid` and a
/// subscription `active` (with the client's plan), in the same transaction as the payment's
/// success. If the subject was cancelled while the gateway charged, the payment is refunded
/// automatically and ends `refunded` with `failure_code: subject_unavailable`.
#[utoipa::path(
    security(("api_key" = ["payments:write"])),
    tag = "payments",
    params(
        ("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 at once, without waiting for the gateway"),
    ),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "The payment, `succeeded` or `failed`", body = PaymentResponse,
            headers(("Location" = String, description = "URL of the payment"))),
        (status = 202, description = "The payment, still `processing`: poll `Location`", body = PaymentResponse,
            headers(("Location" = String, description = "URL of the payment"), ("Retry-After" = String, description = "Seconds before polling"))),
        (status = 404, description = "`order_not_found`, `enrollment_not_found` or `subscription_not_found`"),
        (status = 409, description = "`overpayment` (`details.balance`), `order_closed`, `enrollment_cancelled` or `subscription_cancelled`"),
        (status = 422, description = "Invalid fields; `token` `required`, `not_allowed` or `unknown_token`"),
    )
)]
#[post("/payments")]
pub async fn create_payment(
    _caller: Caller,
    state: web::Data<AppState>,
    request: HttpRequest,
    JsonBody(input): JsonBody<PaymentRequest>,
) -> ApiResult<HttpResponse> {
    let payment = payments::pay(&state, input.into(), prefers_async(&request)).await?;
    let processing = payment.status == PaymentStatus::Processing;
    Ok(accepted_or_created(payment.id.path(), processing, &PaymentResponse::from(payment)))
}

/// List payments
///
/// Newest first; filter by subject, client, status, method and creation time.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "payments",
    params(PaymentListQuery),
    responses((status = 200, description = "A page of payments", body = PageOf<PaymentResponse>))
)]
#[get("/payments")]
pub async fn list_payments(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PaymentListQuery>,
) -> ApiResult<web::Json<PageOf<PaymentResponse>>> {
    let filter = PaymentFilter {
        subject_id: query.subject_id,
        client_id: query.client_id.map(ClientId),
        status: query.status,
        method: query.method,
        created_from: query.created_from.map(Timestamp::get),
        created_until: query.created_until.map(Timestamp::get),
    };
    let page = payments::list(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, PaymentResponse::from)))
}

/// Get a payment
///
/// The payment with its saga's steps: poll it after a 202 until `status` is no longer
/// `processing`.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "payments",
    params(("id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment", body = PaymentResponse),
        (status = 404, description = "`payment_not_found`"),
    )
)]
#[get("/payments/{id}")]
pub async fn get_payment(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<PaymentResponse>> {
    Ok(web::Json(payments::get(&state, PaymentId(*id)).await?.into()))
}

/// Refund a payment
///
/// Gives back all of a succeeded payment (no `amount`) or part of it, never more than it
/// still holds — refunds in progress count, so simultaneous refunds never exceed it (409
/// `refund_exceeds_payment` with `details.refundable`). Money taken through the gateway goes
/// back through it (202 while `processing`, like payments); cash and bank transfers are
/// recorded as paid back. Refunded in full, an enrollment is cancelled and its seat released,
/// an order not yet shipped is cancelled (stock and coupon back) and a shipped one becomes
/// `refunded`, a subscription is cancelled.
#[utoipa::path(
    security(("api_key" = ["payments:write"])),
    tag = "payments",
    params(
        ("id" = Uuid, Path, description = "Payment id"),
        ("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 at once, without waiting for the gateway"),
    ),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "The refund, done", body = RefundResponse,
            headers(("Location" = String, description = "URL of the refund"))),
        (status = 202, description = "The refund, still `processing`: poll `Location`", body = RefundResponse,
            headers(("Location" = String, description = "URL of the refund"), ("Retry-After" = String, description = "Seconds before polling"))),
        (status = 404, description = "`payment_not_found`"),
        (status = 409, description = "`refund_exceeds_payment` (`details.refundable`) or `payment_not_refundable` (not `succeeded`)"),
    )
)]
#[post("/payments/{id}/refunds")]
pub async fn refund_payment(
    _caller: Caller,
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<RefundRequest>,
) -> ApiResult<HttpResponse> {
    let new = NewRefund { amount: input.amount, reason: input.reason };
    let refund = payments::refund(&state, PaymentId(*id), new, prefers_async(&request)).await?;
    let processing = refund.status == RefundStatus::Processing;
    let location = refund.id.path(refund.payment_id);
    Ok(accepted_or_created(location, processing, &RefundResponse::from(refund)))
}

/// List a payment's refunds
///
/// Oldest first, automatic ones (made by the saga) included.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "payments",
    params(("id" = Uuid, Path, description = "Payment id"), PageParams),
    responses(
        (status = 200, description = "A page of the payment's refunds, oldest first", body = PageOf<RefundResponse>),
        (status = 404, description = "`payment_not_found`"),
    )
)]
#[get("/payments/{id}/refunds")]
pub async fn list_refunds(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<RefundResponse>>> {
    let refunds = payments::refunds(&state, PaymentId(*id), query.page()).await?;
    Ok(web::Json(PageOf::from_page(refunds, RefundResponse::from)))
}

/// Get a refund
///
/// Poll it after a 202 until `status` is no longer `processing`.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "payments",
    params(
        ("id" = Uuid, Path, description = "Payment id"),
        ("refund_id" = Uuid, Path, description = "Refund id"),
    ),
    responses(
        (status = 200, description = "The refund", body = RefundResponse),
        (status = 404, description = "`refund_not_found`"),
    )
)]
#[get("/payments/{id}/refunds/{refund_id}")]
pub async fn get_refund(
    _caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<RefundResponse>> {
    let (payment_id, refund_id) = path.into_inner();
    let refund = payments::get_refund(&state, RefundId(refund_id)).await?;
    if refund.payment_id.0 != payment_id {
        return Err(crate::app::AppError::not_found(RefundId(refund_id)).into());
    }
    Ok(web::Json(refund.into()))
}
