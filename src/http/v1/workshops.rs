//! `/api/v1/workshops`

use crate::app::{workshops, AppState};
use crate::domain::ids::{InterestId, Located, WorkshopId};
use crate::domain::money::Money;
use crate::domain::time::Timestamp;
use crate::domain::workshops::{Modality, NewWorkshop, Workshop, WorkshopChanges, WorkshopFilter};
use crate::http::access::Caller;
use crate::http::dto::{created_tagged, no_content, tagged, PageOf};
use crate::http::extract::{list_query, search_text, IfMatch, JsonBody, Query};
use crate::http::problem::ApiResult;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
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
    /// Customers may cancel their own unpaid enrollment until this many hours before the start
    /// (default 24; 0 until it starts). Staff may cancel any enrollment at any time.
    #[validate(range(min = 0, max = 720))]
    #[schema(minimum = 0, maximum = 720, example = 48)]
    pub cancellation_hours: Option<i32>,
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
            cancellation_hours: r.cancellation_hours.unwrap_or(24),
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
    #[validate(range(min = 0, max = 720))]
    #[schema(minimum = 0, maximum = 720)]
    pub cancellation_hours: Option<i32>,
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
            cancellation_hours: r.cancellation_hours,
            active: r.active,
        }
    }
}

list_query! {
    /// Filters for `GET /workshops`, ordered by start time.
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
    }
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
    /// Customers may cancel their own unpaid enrollment until this many hours before the start.
    #[schema(example = 24)]
    pub cancellation_hours: i32,
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
            cancellation_hours: w.cancellation_hours,
            active: w.active,
            created_at: w.created_at,
            updated_at: w.updated_at,
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
    Ok(created_tagged::<_, WorkshopResponse>(workshop.id.path(), workshop))
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
    let page = workshops::list(&state, filter, query.page()).await?;
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
pub async fn get_workshop(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, WorkshopResponse>(workshops::get(&state, WorkshopId(*id)).await?))
}

/// Update a workshop
///
/// Changes only the fields sent. A new capacity adds or removes free seats; lowering it below
/// the seats taken is refused (409 `capacity_below_seats_taken`). A change waits for
/// enrollments in progress, so none commits with terms the workshop no longer has.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id"), IfMatch),
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
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<WorkshopPatchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, WorkshopResponse>(workshops::update(&state, WorkshopId(*id), patch.into(), precondition).await?))
}

/// Delete a workshop
///
/// Workshops with enrollments (cancelled ones too) are kept (409 `workshop_in_use`): deactivate
/// them instead.
#[utoipa::path(
    security(("api_key" = ["workshops:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id"), IfMatch),
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
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    workshops::delete(&state, WorkshopId(*id), precondition).await?;
    Ok(no_content())
}
