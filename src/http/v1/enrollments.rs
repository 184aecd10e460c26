//! `/api/v1/enrollments` and `POST /api/v1/workshops/{id}/enrollments`: enrollments and their payments

use crate::app::{enrollments, payments, AppState};
use crate::domain::ids::{ClientId, EnrollmentId, Located, PaymentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::{Payment, PaymentStatus, Subject};
use crate::domain::workshops::{Enrollment, EnrollmentFilter, EnrollmentStatus};
use crate::http::access::Caller;
use crate::http::dto::{created, PageOf};
use crate::http::extract::{list_query, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub client_id: ClientId,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DeskPaymentRequest {
    /// More than 0 and at most the enrollment's balance.
    #[validate(custom(function = crate::http::validation::price))]
    #[schema(example = "40.00")]
    pub amount: Money,
    pub method: PaymentMethod,
}

list_query! {
    /// Filters for `GET /enrollments`, newest first.
    pub struct EnrollmentListQuery {
        pub workshop_id: Option<Uuid>,
        pub client_id: Option<Uuid>,
        #[param(inline)]
        pub status: Option<EnrollmentStatus>,
        /// `true`: only `pending_payment` and `partially_paid` — the debtors list.
        pub unpaid: Option<bool>,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentResponse {
    pub id: EnrollmentId,
    pub workshop_id: WorkshopId,
    pub client_id: ClientId,
    pub status: EnrollmentStatus,
    /// The workshop's price when the client enrolled.
    pub price: Money,
    pub amount_paid: Money,
    /// What was refunded: credited, so no longer owed.
    pub amount_refunded: Money,
    /// `price - amount_refunded - amount_paid` (zero once cancelled or paid): a refund never
    /// makes an enrollment owe again.
    pub balance: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Enrollment> for EnrollmentResponse {
    fn from(e: Enrollment) -> Self {
        EnrollmentResponse {
            id: e.id,
            workshop_id: e.workshop_id,
            client_id: e.client_id,
            status: e.status,
            price: e.price,
            amount_paid: e.amount_paid,
            amount_refunded: e.amount_refunded,
            balance: e.balance,
            created_at: e.created_at,
            updated_at: e.updated_at,
            cancelled_at: e.cancelled_at,
        }
    }
}

/// A payment towards an enrollment, as `GET /enrollments/{id}/payments` lists it (the full
/// record, with its saga's steps and refunds, is `GET /payments/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentPaymentResponse {
    pub id: PaymentId,
    pub enrollment_id: EnrollmentId,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// Refunds made or in progress.
    pub amount_refunded: Money,
    pub created_at: DateTime<Utc>,
}

impl EnrollmentPaymentResponse {
    fn new(enrollment_id: EnrollmentId, p: Payment) -> Self {
        EnrollmentPaymentResponse {
            id: p.id,
            enrollment_id,
            amount: p.amount,
            method: p.method,
            status: p.status,
            amount_refunded: p.amount_refunded,
            created_at: p.created_at,
        }
    }
}

/// Enroll a client in a workshop
///
/// Takes a free seat race-free (never more enrollments than seats, however many enroll at
/// once) and adds the workshop's category to the client's interests. The enrollment starts
/// `pending_payment` at the workshop's current price.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = EnrollmentResponse,
            headers(("Location" = String, description = "URL of the new enrollment"))),
        (status = 404, description = "`workshop_not_found`"),
        (status = 409, description = "`sold_out`, `already_enrolled`, `workshop_inactive`, `workshop_started` or `client_inactive`"),
        (status = 422, description = "`unknown_client`"),
    )
)]
#[post("/workshops/{id}/enrollments")]
pub async fn enroll(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<EnrollRequest>,
) -> ApiResult<HttpResponse> {
    let enrollment = enrollments::enroll(&state, WorkshopId(*id), input.client_id).await?;
    Ok(created(enrollment.id.path(), &EnrollmentResponse::from(enrollment)))
}

/// List enrollments
///
/// Newest first; filter by workshop, client and status. `unpaid=true` is the debtors list
/// (`pending_payment` and `partially_paid`).
#[utoipa::path(
    security(("api_key" = ["workshops:read"])),
    tag = "enrollments",
    params(EnrollmentListQuery),
    responses((status = 200, description = "A page of enrollments", body = PageOf<EnrollmentResponse>))
)]
#[get("/enrollments")]
pub async fn list_enrollments(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<EnrollmentListQuery>,
) -> ApiResult<web::Json<PageOf<EnrollmentResponse>>> {
    let Some(statuses) = EnrollmentFilter::statuses(query.status, query.unpaid) else {
        return Ok(web::Json(PageOf { items: Vec::new(), next_cursor: None }));
    };
    let filter = EnrollmentFilter {
        workshop_id: query.workshop_id.map(WorkshopId),
        client_id: query.client_id.map(ClientId),
        statuses,
    };
    let page = enrollments::list(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, EnrollmentResponse::from)))
}

/// Get an enrollment
///
/// The enrollment with the price it was taken at, what is paid and the balance.
#[utoipa::path(
    security(("api_key" = ["workshops:read"])),
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The enrollment", body = EnrollmentResponse),
        (status = 404, description = "`enrollment_not_found`"),
    )
)]
#[get("/enrollments/{id}")]
pub async fn get_enrollment(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<EnrollmentResponse>> {
    Ok(web::Json(enrollments::get(&state, EnrollmentId(*id)).await?.into()))
}

/// Cancel an enrollment
///
/// Releases the seat, once: cancelling again is 409 `already_cancelled`. Payments made stay
/// recorded.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "Cancelled; the seat is released", body = EnrollmentResponse),
        (status = 404, description = "`enrollment_not_found`"),
        (status = 409, description = "`already_cancelled`"),
    )
)]
#[post("/enrollments/{id}/cancel")]
pub async fn cancel_enrollment(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<EnrollmentResponse>> {
    Ok(web::Json(enrollments::cancel(&state, EnrollmentId(*id)).await?.into()))
}

/// Record a payment taken at the desk
///
/// Records money staff took outside the gateway (cash, a bank transfer, a card terminal) in
/// the payments ledger; the enrollment becomes `partially_paid` or `paid`. Never more than the
/// balance, even for simultaneous payments (409 `overpayment` with `details.balance`). To charge
/// a card through the gateway, use `POST /payments` with `subject.type = enrollment`.
#[utoipa::path(
    security(("api_key" = ["payments:write"])),
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    request_body = DeskPaymentRequest,
    responses(
        (status = 201, description = "Payment recorded; the enrollment as it now stands", body = EnrollmentResponse),
        (status = 404, description = "`enrollment_not_found`"),
        (status = 409, description = "`overpayment` (`details.balance` says what is due, `details.processing` what payments in progress hold) or `enrollment_cancelled`"),
    )
)]
#[post("/enrollments/{id}/payments")]
pub async fn pay_enrollment(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<DeskPaymentRequest>,
) -> ApiResult<HttpResponse> {
    let enrollment = payments::record_for_enrollment(&state, EnrollmentId(*id), input.amount, input.method).await?;
    Ok(HttpResponse::Created().json(EnrollmentResponse::from(enrollment)))
}

/// List an enrollment's payments
///
/// Every payment towards the enrollment in the payments ledger, oldest first (whether taken at
/// the desk or through `POST /payments`), with its amount, method and status.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id"), PageParams),
    responses(
        (status = 200, description = "A page of the enrollment's payments, oldest first", body = PageOf<EnrollmentPaymentResponse>),
        (status = 404, description = "`enrollment_not_found`"),
    )
)]
#[get("/enrollments/{id}/payments")]
pub async fn list_enrollment_payments(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<EnrollmentPaymentResponse>>> {
    let id = EnrollmentId(*id);
    let payments = payments::of_subject(&state, Subject::Enrollment(id), query.page()).await?;
    Ok(web::Json(PageOf::from_page(payments, |p| EnrollmentPaymentResponse::new(id, p))))
}
