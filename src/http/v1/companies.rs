//! `/api/v1/companies`

use crate::app::{companies, AppState};
use crate::domain::companies::{Company, CompanyChanges, NewCompany};
use crate::domain::ids::{CompanyId, Located};
use crate::http::access::Caller;
use crate::http::crud::crud_endpoints;
use crate::http::dto::PageOf;
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

crud_endpoints! {
    tag: "companies", read: "clients:read", write: "clients:write",
    collection: "/companies", item: "/companies/{id}", id: CompanyId, id_doc: "Company id",
    not_found: "`company_not_found`", request: CompanyRequest, patch: CompanyPatchRequest, response: CompanyResponse,
    create: create_company = companies::create, [
        "Create a company",
        "Registers the legal entity a B2B client buys for. `legal_name` and `tax_id` are each unique.",
        "Company created", "URL of the new company", "`legal_name_taken` or `tax_id_taken`",
    ],
    list: list_companies = companies::list, ["List companies", "Companies in creation order, a page at a time; `q` searches legal name and tax id.", "A page of companies"],
    get: get_company = companies::get, ["Get a company", "The company with its tax id, address and phone.", "The company"],
    update: update_company = companies::update, [
        "Update a company",
        "Changes only the fields sent; `null` clears `address` or `phone`.",
        "The updated company", "`legal_name_taken` or `tax_id_taken`",
    ],
    delete: delete_company = companies::delete, [
        "Delete a company",
        "Refused while clients belong to the company (409 `company_in_use`): move or delete them first.",
        "`company_in_use`: clients still belong to it",
    ],
}
