//! `/api/v1/companies`

use crate::app::companies::{self, CompanyInput, CompanyPatch};
use crate::app::AppState;
use crate::domain::ids::CompanyId;
use crate::http::dto::{CompanyResponse, PageOf};
use crate::http::extract::{JsonBody, PageParams};
use crate::http::problem::{ApiResult, Problem};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

#[utoipa::path(
    tag = "companies",
    request_body = CompanyInput,
    responses(
        (status = 201, description = "Company created", body = CompanyResponse,
            headers(("Location" = String, description = "URL of the new company"))),
        (status = 409, description = "`legal_name_taken` or `tax_id_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies")]
pub async fn create_company(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<CompanyInput>,
) -> ApiResult<HttpResponse> {
    let company = companies::create(&state, input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/companies/{}", company.id)))
        .json(CompanyResponse::from(company)))
}

#[utoipa::path(
    tag = "companies",
    params(PageParams),
    responses(
        (status = 200, description = "Companies in creation order; `q` searches legal name and tax id", body = PageOf<CompanyResponse>),
        (status = 422, description = "Invalid `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies")]
pub async fn list_companies(
    state: web::Data<AppState>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<CompanyResponse>>> {
    let limit = query.limit()?;
    let page = companies::list(&state, query.search(), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, CompanyResponse::from)))
}

#[utoipa::path(
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id")),
    responses(
        (status = 200, description = "The company", body = CompanyResponse),
        (status = 404, description = "`company_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}")]
pub async fn get_company(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<CompanyResponse>> {
    Ok(web::Json(companies::get(&state, CompanyId(*id)).await?.into()))
}

#[utoipa::path(
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id")),
    request_body = CompanyPatch,
    responses(
        (status = 200, description = "The updated company", body = CompanyResponse),
        (status = 404, description = "`company_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`legal_name_taken` or `tax_id_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/companies/{id}")]
pub async fn update_company(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<CompanyPatch>,
) -> ApiResult<web::Json<CompanyResponse>> {
    Ok(web::Json(companies::update(&state, CompanyId(*id), patch).await?.into()))
}

#[utoipa::path(
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`company_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`company_in_use`: clients still belong to it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/companies/{id}")]
pub async fn delete_company(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    companies::delete(&state, CompanyId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
