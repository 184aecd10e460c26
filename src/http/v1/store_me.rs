//! `/api/v1/store/me/enrollments`, `/store/me/payments`, `/store/me/subscription`: a signed-in
//! customer enrolls in upcoming workshops and cancels under each workshop's rule, pays their own
//! orders, enrollments and subscription with a card or PayPal token, and buys a plan. Every
//! operation acts on the customer's own records only: another client's id answers 404.

use crate::app::{enrollments, info, payments, subscriptions, AppState};
use crate::domain::free_form::Preferences;
use crate::domain::ids::{own_path, EnrollmentId, PaymentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::{NewPayment, Payment, PaymentFilter, PaymentStatus, Subject};
use crate::domain::workshops::{EnrollmentFilter, EnrollmentStatus, Modality, OwnEnrollment};
use crate::http::access::Caller;
use crate::http::dto::{created, tagged, PageOf};
use crate::http::extract::{list_query, IfMatch, JsonBody, Query};
use crate::http::problem::ApiResult;
use crate::http::v1::info::FreeFormBody;
use crate::http::v1::payments::{failure_fields, SubjectRef};
use crate::http::v1::subscriptions::{SubscriptionRequest, SubscriptionResponse};
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StoreEnrollRequest {
    /// An upcoming workshop of `GET /store/workshops`.
    pub workshop_id: WorkshopId,
}

/// The workshop an enrollment is for, as the one enrolled sees it (with an online workshop's link).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledWorkshop {
    pub id: WorkshopId,
    #[schema(example = "Hand-cut dovetails")]
    pub name: String,
    pub starts_at: DateTime<Utc>,
    #[schema(example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    #[schema(example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    /// An online workshop's link.
    pub link: Option<String>,
}

/// One of the customer's enrollments.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreEnrollmentResponse {
    pub id: EnrollmentId,
    pub workshop: EnrolledWorkshop,
    pub status: EnrollmentStatus,
    /// The workshop's price when the customer enrolled.
    pub price: Money,
    pub amount_paid: Money,
    pub amount_refunded: Money,
    /// What is still owed: pay it with `POST /store/me/payments`.
    pub balance: Money,
    /// Whether the customer may cancel it now: unpaid and before `cancellable_until`.
    pub cancellable: bool,
    /// The workshop's rule: seats are cancelled by their customer until this instant.
    pub cancellable_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<OwnEnrollment> for StoreEnrollmentResponse {
    fn from(OwnEnrollment { enrollment: e, workshop: w }: OwnEnrollment) -> Self {
        let cancellable_until = w.cancellable_until();
        StoreEnrollmentResponse {
            id: e.id,
            cancellable: e.status != EnrollmentStatus::Cancelled
                && e.amount_paid.is_zero()
                && crate::app::clock::now() <= cancellable_until,
            cancellable_until,
            workshop: EnrolledWorkshop {
                id: w.id,
                name: w.name,
                starts_at: w.starts_at,
                duration_minutes: w.duration_minutes,
                modality: w.modality,
                location: w.location,
                link: w.link,
            },
            status: e.status,
            price: e.price,
            amount_paid: e.amount_paid,
            amount_refunded: e.amount_refunded,
            balance: e.balance,
            created_at: e.created_at,
            cancelled_at: e.cancelled_at,
        }
    }
}

list_query! {
    /// Filters for `GET /store/me/enrollments`.
    pub struct StoreEnrollmentListQuery {
        #[param(inline)]
        pub status: Option<EnrollmentStatus>,
    }
}

/// Enroll in a workshop
///
/// Takes a seat of an upcoming workshop for the signed-in customer; the seat is owed until paid
/// (`POST /store/me/payments`). Never more enrollments than seats, however many enroll at once.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    request_body = StoreEnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = StoreEnrollmentResponse,
            headers(("Location" = String, description = "URL of the enrollment"))),
        (status = 404, description = "`workshop_not_found`"),
        (status = 409, description = "`sold_out`, `already_enrolled`, `workshop_inactive`, `workshop_started` or `client_inactive`"),
    )
)]
#[post("/store/me/enrollments")]
pub async fn enroll_me(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<StoreEnrollRequest>,
) -> ApiResult<HttpResponse> {
    let own = enrollments::enroll_own(&state, caller.customer()?.client, input.workshop_id).await?;
    Ok(created(own_path("enrollments", Some(&own.enrollment.id)), &StoreEnrollmentResponse::from(own)))
}

/// List my enrollments
///
/// The signed-in customer's enrollments, newest first, each with its workshop.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(StoreEnrollmentListQuery),
    responses((status = 200, description = "A page of the customer's enrollments", body = PageOf<StoreEnrollmentResponse>))
)]
#[get("/store/me/enrollments")]
pub async fn list_my_enrollments(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<StoreEnrollmentListQuery>,
) -> ApiResult<web::Json<PageOf<StoreEnrollmentResponse>>> {
    let statuses = EnrollmentFilter::statuses(query.status, None).unwrap_or_default();
    let page = enrollments::list_own(&state, caller.customer()?.client, statuses, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StoreEnrollmentResponse::from)))
}

/// Get my enrollment
///
/// One of the signed-in customer's enrollments with its workshop (an online one's link
/// included). Another client's answers 404.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The enrollment", body = StoreEnrollmentResponse),
        (status = 404, description = "`enrollment_not_found`"),
    )
)]
#[get("/store/me/enrollments/{id}")]
pub async fn get_my_enrollment(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StoreEnrollmentResponse>> {
    Ok(web::Json(enrollments::get_own(&state, caller.customer()?.client, EnrollmentId(*id)).await?.into()))
}

/// Cancel my enrollment
///
/// Under the workshop's rule: while nothing is paid, until `cancellable_until`
/// (`cancellation_hours` before the start); the seat is freed at once. A paid seat is cancelled
/// by the staff, who refund it. Another client's enrollment answers 404.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The cancelled enrollment", body = StoreEnrollmentResponse),
        (status = 404, description = "`enrollment_not_found`"),
        (status = 409, description = "`already_cancelled`, `enrollment_paid` or `cancellation_closed` (`details.cancellable_until`)"),
    )
)]
#[post("/store/me/enrollments/{id}/cancel")]
pub async fn cancel_my_enrollment(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StoreEnrollmentResponse>> {
    Ok(web::Json(enrollments::cancel_own(&state, caller.customer()?.client, EnrollmentId(*id)).await?.into()))
}

/// What a customer pays for and how.
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StorePaymentRequest {
    /// One of the customer's own orders, enrollments or subscriptions.
    pub subject: SubjectRef,
    /// More than 0 and at most what the subject still owes.
    #[validate(custom(function = crate::http::validation::positive))]
    #[schema(example = "80.00")]
    pub amount: Money,
    /// `card` or `paypal` (cash and bank transfers are recorded by the staff).
    pub method: PaymentMethod,
    /// The gateway's token from the payment form. Sandbox: `tok_visa` (succeeds),
    /// `tok_declined`, `tok_insufficient_funds`, `tok_processing_error`, `tok_slow`.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, example = "tok_visa")]
    pub token: String,
}

/// One of the customer's payments.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorePaymentResponse {
    pub id: PaymentId,
    pub subject: SubjectRef,
    pub amount: Money,
    pub amount_refunded: Money,
    pub method: PaymentMethod,
    /// `processing` until the gateway answered (poll this resource), then `succeeded`,
    /// `failed`, or (once given back) `refunded`.
    pub status: PaymentStatus,
    /// Why it failed (`card_declined`, `insufficient_funds`, …).
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Payment> for StorePaymentResponse {
    fn from(p: Payment) -> Self {
        let (failure_code, failure_message) = failure_fields(p.failure);
        StorePaymentResponse {
            id: p.id,
            subject: p.subject.into(),
            amount: p.amount,
            amount_refunded: p.amount_refunded,
            method: p.method,
            status: p.status,
            failure_code,
            failure_message,
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

list_query! {
    /// Filters for `GET /store/me/payments`.
    pub struct StorePaymentListQuery {
        #[param(inline)]
        pub status: Option<PaymentStatus>,
    }
}

/// Pay
///
/// Pays one of the signed-in customer's own orders, enrollments or subscriptions through the
/// gateway. `Idempotency-Key` is required: the same key answers the first outcome again and
/// never charges twice. 201 when the gateway answered (`succeeded` or `failed`), 202 while it
/// is still `processing` (poll `Location`). Another client's subject answers 404.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    request_body = StorePaymentRequest,
    responses(
        (status = 201, description = "The payment, `succeeded` or `failed`", body = StorePaymentResponse,
            headers(("Location" = String, description = "URL of the payment"))),
        (status = 202, description = "The payment, still `processing`: poll `Location`", body = StorePaymentResponse,
            headers(("Location" = String, description = "URL of the payment"), ("Retry-After" = String, description = "Seconds before polling"))),
        (status = 404, description = "`order_not_found`, `enrollment_not_found` or `subscription_not_found`"),
        (status = 409, description = "`overpayment` (`details.balance`), `order_closed`, `enrollment_cancelled` or `subscription_cancelled`"),
        (status = 422, description = "Invalid fields; `method` `not_allowed` (cash, bank transfer), `token` `unknown_token`"),
    )
)]
#[post("/store/me/payments")]
pub async fn pay_mine(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<StorePaymentRequest>,
) -> ApiResult<HttpResponse> {
    let new = NewPayment {
        subject: Subject::new(input.subject.kind, input.subject.id),
        amount: input.amount,
        method: input.method,
        token: Some(input.token),
        description: None,
    };
    let payment = payments::pay_own(&state, caller.customer()?.client, new).await?;
    let processing = payment.status == PaymentStatus::Processing;
    let location = own_path("payments", Some(&payment.id));
    Ok(crate::http::v1::payments::accepted_or_created(location, processing, &StorePaymentResponse::from(payment)))
}

/// List my payments
///
/// The signed-in customer's payments, newest first.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(StorePaymentListQuery),
    responses((status = 200, description = "A page of the customer's payments", body = PageOf<StorePaymentResponse>))
)]
#[get("/store/me/payments")]
pub async fn list_my_payments(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<StorePaymentListQuery>,
) -> ApiResult<web::Json<PageOf<StorePaymentResponse>>> {
    let filter =
        PaymentFilter { client_id: Some(caller.customer()?.client), status: query.status, ..Default::default() };
    let page = payments::list(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StorePaymentResponse::from)))
}

/// Get my payment
///
/// One of the signed-in customer's payments (poll it while `processing`). Another client's
/// answers 404.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment", body = StorePaymentResponse),
        (status = 404, description = "`payment_not_found`"),
    )
)]
#[get("/store/me/payments/{id}")]
pub async fn get_my_payment(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StorePaymentResponse>> {
    Ok(web::Json(payments::get_own(&state, caller.customer()?.client, PaymentId(*id)).await?.into()))
}

/// Subscribe to a plan
///
/// Buys `months` of a plan (`GET /plans` lists them) for the signed-in customer; it is owed
/// until paid (`POST /store/me/payments` with the subscription as subject).
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    request_body = SubscriptionRequest,
    responses(
        (status = 201, description = "Subscription created, with `amount_due`", body = SubscriptionResponse,
            headers(("Location" = String, description = "URL of the customer's subscription"))),
        (status = 409, description = "`client_inactive`, or `subscription_unpaid` (`details.subscription_id`: pay that one first)"),
    )
)]
#[post("/store/me/subscription")]
pub async fn subscribe_me(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<SubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let subscription =
        subscriptions::subscribe_own(&state, caller.customer()?.client, input.plan, input.months).await?;
    Ok(created(own_path("subscription", None), &SubscriptionResponse::from(subscription)))
}

/// Get my subscription
///
/// The signed-in customer's latest subscription: plan, period paid, what is due.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    responses(
        (status = 200, description = "The latest subscription", body = SubscriptionResponse),
        (status = 404, description = "`subscription_not_found` when the customer never subscribed"),
    )
)]
#[get("/store/me/subscription")]
pub async fn my_subscription(caller: Caller, state: web::Data<AppState>) -> ApiResult<web::Json<SubscriptionResponse>> {
    Ok(web::Json(subscriptions::current(&state, caller.customer()?.client).await?.into()))
}

/// Get my preferences
///
/// The preferences the signed-in customer may set: `language`, `notifications` (`false`, or
/// `{"email": false}`, stops the messages the business sends) and the keys the business lets
/// customers set (`STORE_EDITABLE_PREFERENCES`). The staff's keys and comments are never shown.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    responses((status = 200, description = "The customer's preferences", body = Preferences))
)]
#[get("/store/me/preferences")]
pub async fn get_my_preferences(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, Map<String, Value>>(info::customer_preferences(&state, caller.customer()?.client).await?))
}

/// Change my preferences
///
/// An RFC 7396 merge patch of the preferences the customer may set (`null` removes a key); any
/// other key is 422 `not_editable`, naming it. `language` must be a language tag, `notifications`
/// a boolean or booleans per channel.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(IfMatch),
    request_body(content = Preferences, description = "An RFC 7396 merge patch", content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The customer's preferences", body = Preferences),
        (status = 409, description = "`concurrent_update`: too many simultaneous changes; retry"),
        (status = 422, description = "`not_editable` (the business's key), or an invalid value"),
    )
)]
#[patch("/store/me/preferences")]
pub async fn update_my_preferences(
    caller: Caller,
    state: web::Data<AppState>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody<FreeFormBody>,
) -> ApiResult<HttpResponse> {
    let client = caller.customer()?.client;
    let merged = info::update_customer_preferences(&state, client, body.0, precondition).await?;
    Ok(tagged::<_, Map<String, Value>>(merged))
}
