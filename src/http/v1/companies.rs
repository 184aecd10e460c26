//! `/api/v1/companies`

use crate::app::{companies, AppState};
use crate::domain::companies::{Company, CompanyChanges, NewCompany};
use crate::domain::ids::{CompanyId, Located};
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
pub struct CompanyRequest {
    /// Unique.
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Acme Tools S.A."
    )]
    pub legal_name: String,
    /// Unique.
    #[validate(length(min = 1, max = 50), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 50,
        example = "30-71234567-9"
    )]
    pub tax_id: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Av. Corrientes 1234, Buenos Aires")]
    pub address: Option<String>,
    #[validate(custom(function = crate::http::validation::phone))]
    #[schema(max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$", example = "+54 11 4000 1000")]
    pub phone: Option<String>,
}

impl From<CompanyRequest> for NewCompany {
    fn from(r: CompanyRequest) -> Self {
        NewCompany { legal_name: r.legal_name, tax_id: r.tax_id, address: r.address, phone: r.phone }
    }
}

/// Only the fields present change; `null` clears `address` or `phone`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatchRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub legal_name: Option<String>,
    #[validate(length(min = 1, max = 50), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 50)]
    pub tax_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = crate::http::validation::phone))]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$")]
    pub phone: Option<Option<String>>,
}

impl From<CompanyPatchRequest> for CompanyChanges {
    fn from(r: CompanyPatchRequest) -> Self {
        CompanyChanges { legal_name: r.legal_name, tax_id: r.tax_id, address: r.address, phone: r.phone }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyResponse {
    pub id: Uuid,
    #[schema(example = "Acme Tools S.A.")]
    pub legal_name: String,
    #[schema(example = "30-71234567-9")]
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Company> for CompanyResponse {
    fn from(c: Company) -> Self {
        CompanyResponse {
            id: c.id.0,
            legal_name: c.legal_name,
            tax_id: c.tax_id,
            address: c.address,
            phone: c.phone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Create a company
///
/// Registers the legal entity a B2B client buys for. `legal_name` and `tax_id` are each unique.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "companies",
    request_body = CompanyRequest,
    responses(
        (status = 201, description = "Company created", body = CompanyResponse,
            headers(("Location" = String, description = "URL of the new company"))),
        (status = 409, description = "`legal_name_taken` or `tax_id_taken`"),
    )
)]
#[post("/companies")]
pub async fn create_company(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<CompanyRequest>,
) -> ApiResult<HttpResponse> {
    let company = companies::create(&state, input.into()).await?;
    Ok(created_tagged::<_, CompanyResponse>(company.id.path(), company))
}

/// List companies
///
/// Companies in creation order, a page at a time; `q` searches legal name and tax id.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "companies",
    params(SearchParams),
    responses((status = 200, description = "A page of companies", body = PageOf<CompanyResponse>))
)]
#[get("/companies")]
pub async fn list_companies(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<SearchParams>,
) -> ApiResult<web::Json<PageOf<CompanyResponse>>> {
    let page = companies::list(&state, query.search(), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, CompanyResponse::from)))
}

/// Get a company
///
/// The company with its tax id, address and phone.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id")),
    responses(
        (status = 200, description = "The company", body = CompanyResponse),
        (status = 404, description = "`company_not_found`"),
    )
)]
#[get("/companies/{id}")]
pub async fn get_company(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, CompanyResponse>(companies::get(&state, CompanyId(*id)).await?))
}

/// Update a company
///
/// Changes only the fields sent; `null` clears `address` or `phone`.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id"), IfMatch),
    request_body = CompanyPatchRequest,
    responses(
        (status = 200, description = "The updated company", body = CompanyResponse),
        (status = 404, description = "`company_not_found`"),
        (status = 409, description = "`legal_name_taken` or `tax_id_taken`"),
    )
)]
#[patch("/companies/{id}")]
pub async fn update_company(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<CompanyPatchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, CompanyResponse>(companies::update(&state, CompanyId(*id), patch.into(), precondition).await?))
}

/// Delete a company
///
/// Refused while clients belong to the company (409 `company_in_use`): move or delete them first.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "companies",
    params(("id" = Uuid, Path, description = "Company id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`company_not_found`"),
        (status = 409, description = "`company_in_use`: clients still belong to it"),
    )
)]
#[delete("/companies/{id}")]
pub async fn delete_company(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    companies::delete(&state, CompanyId(*id), precondition).await?;
    Ok(no_content())
}
