//! `/api/v1/interests`

use crate::app::{interests, AppState};
use crate::domain::ids::{InterestId, Located};
use crate::domain::interests::{Interest, InterestChanges, NewInterest};
use crate::http::access::Caller;
use crate::http::dto::{created_tagged, no_content, tagged, PageOf};
use crate::http::extract::{IfMatch, JsonBody, Query, SearchParams};
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
pub struct InterestRequest {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 100,
        example = "Woodworking"
    )]
    pub name: String,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000, example = "Hand tools, joinery and finishing")]
    pub description: Option<String>,
}

impl From<InterestRequest> for NewInterest {
    fn from(r: InterestRequest) -> Self {
        NewInterest { name: r.name, description: r.description }
    }
}

/// Only the fields present change; `null` clears `description`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterestPatchRequest {
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 1000))]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
}

impl From<InterestPatchRequest> for InterestChanges {
    fn from(r: InterestPatchRequest) -> Self {
        InterestChanges { name: r.name, description: r.description }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestResponse {
    pub id: Uuid,
    #[schema(example = "Woodworking")]
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Interest> for InterestResponse {
    fn from(i: Interest) -> Self {
        InterestResponse {
            id: i.id.0,
            name: i.name,
            description: i.description,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// Create an interest
///
/// A topic clients care about; workshops belong to one. Names are unique regardless of case.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "interests",
    request_body = InterestRequest,
    responses(
        (status = 201, description = "Interest created", body = InterestResponse,
            headers(("Location" = String, description = "URL of the new interest"))),
        (status = 409, description = "`name_taken`"),
    )
)]
#[post("/interests")]
pub async fn create_interest(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<InterestRequest>,
) -> ApiResult<HttpResponse> {
    let interest = interests::create(&state, input.into()).await?;
    Ok(created_tagged::<_, InterestResponse>(interest.id.path(), interest))
}

/// List interests
///
/// Interests in creation order, a page at a time; `q` searches the name.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "interests",
    params(SearchParams),
    responses((status = 200, description = "A page of interests", body = PageOf<InterestResponse>))
)]
#[get("/interests")]
pub async fn list_interests(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<SearchParams>,
) -> ApiResult<web::Json<PageOf<InterestResponse>>> {
    let page = interests::list(&state, query.search(), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, InterestResponse::from)))
}

/// Get an interest
///
/// The interest with its description.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses(
        (status = 200, description = "The interest", body = InterestResponse),
        (status = 404, description = "`interest_not_found`"),
    )
)]
#[get("/interests/{id}")]
pub async fn get_interest(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, InterestResponse>(interests::get(&state, InterestId(*id)).await?))
}

/// Update an interest
///
/// Changes only the fields sent; `null` clears `description`.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), IfMatch),
    request_body = InterestPatchRequest,
    responses(
        (status = 200, description = "The updated interest", body = InterestResponse),
        (status = 404, description = "`interest_not_found`"),
        (status = 409, description = "`name_taken`"),
    )
)]
#[patch("/interests/{id}")]
pub async fn update_interest(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<InterestPatchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, InterestResponse>(interests::update(&state, InterestId(*id), patch.into(), precondition).await?))
}

/// Delete an interest
///
/// Refused while clients have the interest or workshops belong to it (409 `interest_in_use`).
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`interest_not_found`"),
        (status = 409, description = "`interest_in_use`: clients or workshops still use it"),
    )
)]
#[delete("/interests/{id}")]
pub async fn delete_interest(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    interests::delete(&state, InterestId(*id), precondition).await?;
    Ok(no_content())
}
