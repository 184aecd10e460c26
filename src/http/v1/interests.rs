//! `/api/v1/interests`

use crate::app::interests::{self, InterestInput, InterestPatch};
use crate::app::AppState;
use crate::domain::ids::InterestId;
use crate::http::dto::{InterestResponse, PageOf};
use crate::http::extract::{JsonBody, PageParams};
use crate::http::problem::{ApiResult, Problem};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

#[utoipa::path(
    tag = "interests",
    request_body = InterestInput,
    responses(
        (status = 201, description = "Interest created", body = InterestResponse,
            headers(("Location" = String, description = "URL of the new interest"))),
        (status = 409, description = "`name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interests")]
pub async fn create_interest(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<InterestInput>,
) -> ApiResult<HttpResponse> {
    let interest = interests::create(&state, input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/interests/{}", interest.id)))
        .json(InterestResponse::from(interest)))
}

#[utoipa::path(
    tag = "interests",
    params(PageParams),
    responses(
        (status = 200, description = "Companies in creation order; `q` searches the name", body = PageOf<InterestResponse>),
        (status = 422, description = "Invalid `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/interests")]
pub async fn list_interests(
    state: web::Data<AppState>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<InterestResponse>>> {
    let limit = query.limit()?;
    let page = interests::list(&state, query.search(), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, InterestResponse::from)))
}

#[utoipa::path(
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses(
        (status = 200, description = "The interest", body = InterestResponse),
        (status = 404, description = "`interest_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/interests/{id}")]
pub async fn get_interest(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<InterestResponse>> {
    Ok(web::Json(interests::get(&state, InterestId(*id)).await?.into()))
}

#[utoipa::path(
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    request_body = InterestPatch,
    responses(
        (status = 200, description = "The updated interest", body = InterestResponse),
        (status = 404, description = "`interest_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/interests/{id}")]
pub async fn update_interest(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<InterestPatch>,
) -> ApiResult<web::Json<InterestResponse>> {
    Ok(web::Json(interests::update(&state, InterestId(*id), patch).await?.into()))
}

#[utoipa::path(
    tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`interest_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`interest_in_use`: clients still have it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/interests/{id}")]
pub async fn delete_interest(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    interests::delete(&state, InterestId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
