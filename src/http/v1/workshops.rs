//! `/api/v1/workshops` and `/api/v1/enrollments`

use crate::app::{enrollments, payments, workshops, AppState};
use crate::domain::ids::{ClientId, EnrollmentId, InterestId, Located, PaymentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::{Payment, PaymentStatus, Subject};
use crate::domain::time::Timestamp;
use crate::domain::workshops::{
    Enrollment, EnrollmentFilter, EnrollmentStatus, Modality, NewWorkshop, Workshop, WorkshopChanges, WorkshopFilter,
};
use crate::http::access::Caller;
use crate::http::dto::{created, no_content, PageOf};
use crate::http::extract::{page_request, search_text, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WorkshopRequest {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Hand-cut dovetails"
    )]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// An interest id.
    pub category_id: InterestId,
    /// Must be in the future.
    pub starts_at: Timestamp,
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080, example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    /// Required for `in_person`.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    /// Required for `online`.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, example = "https://meet.example.com/dovetails")]
    pub link: Option<String>,
    #[validate(custom(function = crate::http::validation::price))]
    #[schema(example = "85.00")]
    pub price: Money,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000, example = 12)]
    pub capacity: i32,
    /// Default `true`; inactive workshops take no enrollments.
    pub active: Option<bool>,
}

impl From<WorkshopRequest> for NewWorkshop {
    fn from(r: WorkshopRequest) -> Self {
        NewWorkshop {
            name: r.name,
            description: r.description,
            category_id: r.category_id,
            starts_at: r.starts_at.get(),
            duration_minutes: r.duration_minutes,
            modality: r.modality,
            location: r.location,
            link: r.link,
            price: r.price,
            capacity: r.capacity,
            active: r.active.unwrap_or(true),
        }
    }
}

/// Only the fields present change; `null` clears `description`, `location` or `link`.
/// Lowering `capacity` below the seats taken is a 409.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WorkshopPatchRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 5000))]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    pub category_id: Option<InterestId>,
    pub starts_at: Option<Timestamp>,
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080)]
    pub duration_minutes: Option<i32>,
    pub modality: Option<Modality>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 500))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 500))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub link: Option<Option<String>>,
    #[validate(custom(function = crate::http::validation::price))]
    pub price: Option<Money>,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub capacity: Option<i32>,
    pub active: Option<bool>,
}

impl From<WorkshopPatchRequest> for WorkshopChanges {
    fn from(r: WorkshopPatchRequest) -> Self {
        WorkshopChanges {
            name: r.name,
            description: r.description,
            category_id: r.category_id,
            starts_at: r.starts_at.map(Timestamp::get),
            duration_minutes: r.duration_minutes,
            modality: r.modality,
            location: r.location,
            link: r.link,
            price: r.price,
            capacity: r.capacity,
            active: r.active,
        }
    }
}

/// Filters for `GET /workshops`, ordered by start time.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkshopListQuery {
    pub category_id: Option<Uuid>,
    #[param(inline)]
    pub modality: Option<Modality>,
    /// `true`: only workshops that have not started.
    pub upcoming: Option<bool>,
    /// `true`: only workshops with a free seat; `false`: only sold-out ones.
    pub has_seats: Option<bool>,
    pub active: Option<bool>,
    /// Case-insensitive text search in name and description.
    #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    #[validate(length(max = 100), custom(function = crate::http::validation::search_text))]
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 1024)]
    #[validate(length(max = 1024))]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopResponse {
    pub id: WorkshopId,
    #[schema(example = "Hand-cut dovetails")]
    pub name: String,
    pub description: Option<String>,
    /// The interest this workshop belongs to; enrolling adds it to the client's interests.
    pub category_id: InterestId,
    pub starts_at: DateTime<Utc>,
    #[schema(example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    /// For `in_person` workshops.
    #[schema(example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    /// For `online` workshops.
    pub link: Option<String>,
    pub price: Money,
    #[schema(example = 12)]
    pub capacity: i32,
    /// Live (not cancelled) enrollments.
    #[schema(example = 9)]
    pub seats_taken: i32,
    /// `capacity - seats_taken`.
    #[schema(example = 3)]
    pub seats_available: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Workshop> for WorkshopResponse {
    fn from(w: Workshop) -> Self {
        WorkshopResponse {
            id: w.id,
            name: w.name,
            description: w.description,
            category_id: w.category_id,
            starts_at: w.starts_at,
            duration_minutes: w.duration_minutes,
            modality: w.modality,
            location: w.location,
            link: w.link,
            price: w.price,
            capacity: w.capacity,
            seats_taken: w.seats_taken,
            seats_available: w.seats_available,
            active: w.active,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

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

/// Filters for `GET /enrollments`, newest first.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnrollmentListQuery {
    pub workshop_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    #[param(inline)]
    pub status: Option<EnrollmentStatus>,
    /// `true`: only `pending_payment` and `partially_paid` — the debtors list.
    pub unpaid: Option<bool>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 1024)]
    #[validate(length(max = 1024))]
    pub cursor: Option<String>,
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

/// Create a workshop
///
/// A workshop with a start in the future, a price and a capacity (its seats are created with
/// it). Its category is an interest; `in_person` needs a `location`, `online` a `link`.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    request_body = WorkshopRequest,
    responses(
        (status = 201, description = "Workshop created", body = WorkshopResponse,
            headers(("Location" = String, description = "URL of the new workshop"))),
        (status = 409, description = "`name_taken`"),
        (status = 422, description = "Invalid fields, `unknown_category`, a start in the past, or a missing location/link"),
    )
)]
#[post("/workshops")]
pub async fn create_workshop(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<WorkshopRequest>,
) -> ApiResult<HttpResponse> {
    let workshop = workshops::create(&state, input.into()).await?;
    Ok(created(workshop.id.path(), &WorkshopResponse::from(workshop)))
}

/// List workshops
///
/// By start time, each with its seats available; filter by category, modality, upcoming, free
/// seats and activity; `q` searches name and description.
#[utoipa::path(
    security(("api_key" = ["workshops:read"])),
    tag = "workshops",
    params(WorkshopListQuery),
    responses((status = 200, description = "A page of workshops", body = PageOf<WorkshopResponse>))
)]
#[get("/workshops")]
pub async fn list_workshops(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<WorkshopListQuery>,
) -> ApiResult<web::Json<PageOf<WorkshopResponse>>> {
    let filter = WorkshopFilter {
        category_id: query.category_id.map(InterestId),
        modality: query.modality,
        upcoming: query.upcoming.unwrap_or(false),
        has_seats: query.has_seats,
        active: query.active,
        search: search_text(&query.q),
    };
    let page = workshops::list(&state, filter, page_request(query.limit, &query.cursor)).await?;
    Ok(web::Json(PageOf::from_page(page, WorkshopResponse::from)))
}

/// Get a workshop
///
/// The workshop with its seats taken and available.
#[utoipa::path(
    security(("api_key" = ["workshops:read"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 200, description = "The workshop", body = WorkshopResponse),
        (status = 404, description = "`workshop_not_found`"),
    )
)]
#[get("/workshops/{id}")]
pub async fn get_workshop(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<WorkshopResponse>> {
    Ok(web::Json(workshops::get(&state, WorkshopId(*id)).await?.into()))
}

/// Update a workshop
///
/// Changes only the fields sent. A new capacity adds or removes free seats; lowering it below
/// the seats taken is refused (409 `capacity_below_seats_taken`). A change waits for
/// enrollments in progress, so none commits with terms the workshop no longer has.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    request_body = WorkshopPatchRequest,
    responses(
        (status = 200, description = "The updated workshop", body = WorkshopResponse),
        (status = 404, description = "`workshop_not_found`"),
        (status = 409, description = "`capacity_below_seats_taken` or `name_taken`"),
    )
)]
#[patch("/workshops/{id}")]
pub async fn update_workshop(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<WorkshopPatchRequest>,
) -> ApiResult<web::Json<WorkshopResponse>> {
    Ok(web::Json(workshops::update(&state, WorkshopId(*id), patch.into()).await?.into()))
}

/// Delete a workshop
///
/// Workshops with enrollments (cancelled ones too) are kept (409 `workshop_in_use`): deactivate
/// them instead.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`workshop_not_found`"),
        (status = 409, description = "`workshop_in_use`: it has enrollments (deactivate it instead)"),
    )
)]
#[delete("/workshops/{id}")]
pub async fn delete_workshop(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    workshops::delete(&state, WorkshopId(*id)).await?;
    Ok(no_content())
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
    let page = enrollments::list(&state, filter, page_request(query.limit, &query.cursor)).await?;
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
