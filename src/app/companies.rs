//! Companies (B2B customers' legal entities).

use super::validation::{double_option, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::client::Company;
use crate::domain::ids::CompanyId;
use crate::domain::page::{decode_cursor, encode_cursor, Page};
use crate::store::pg::companies;
use crate::store::pg::models::{CompanyChangeset, NewCompany};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    #[validate(length(min = 1, max = 200), custom(function = crate::app::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Acme Tools S.A."
    )]
    pub legal_name: String,
    #[validate(length(min = 1, max = 50), custom(function = crate::app::validation::not_blank))]
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
    #[validate(custom(function = crate::app::validation::phone))]
    #[schema(max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$", example = "+54 11 4000 1000")]
    pub phone: Option<String>,
}

/// Only the fields present change; `null` clears `address` or `phone`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    #[validate(length(min = 1, max = 200), custom(function = crate::app::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub legal_name: Option<String>,
    #[validate(length(min = 1, max = 50), custom(function = crate::app::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 50)]
    pub tax_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = crate::app::validation::phone))]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$")]
    pub phone: Option<Option<String>>,
}

pub async fn create(state: &AppState, input: CompanyInput) -> AppResult<Company> {
    validate(&input)?;
    state
        .db
        .run(move |conn| {
            let new = NewCompany {
                id: CompanyId::new().0,
                legal_name: &input.legal_name,
                tax_id: &input.tax_id,
                address: input.address.as_deref(),
                phone: input.phone.as_deref(),
            };
            Ok(companies::insert(conn, &new)?.into())
        })
        .await
}

pub async fn get(state: &AppState, id: CompanyId) -> AppResult<Company> {
    state
        .db
        .run(move |conn| {
            companies::find(conn, id.0)?.map(Company::from).ok_or_else(|| AppError::not_found("company", id))
        })
        .await
}

pub async fn list(
    state: &AppState,
    search: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<Company>> {
    let after = decode_id_cursor(cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok::<_, AppError>(companies::list(conn, search.as_deref(), after, limit + 1)?))
        .await?;
    Ok(Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id)).map(Company::from))
}

pub async fn update(state: &AppState, id: CompanyId, patch: CompanyPatch) -> AppResult<Company> {
    validate(&patch)?;
    let changes = CompanyChangeset {
        legal_name: patch.legal_name,
        tax_id: patch.tax_id,
        address: patch.address,
        phone: patch.phone,
        updated_at: Some(chrono::Utc::now()),
    };
    state
        .db
        .run(move |conn| {
            companies::update(conn, id.0, &changes)?
                .map(Company::from)
                .ok_or_else(|| AppError::not_found("company", id))
        })
        .await
}

pub async fn delete(state: &AppState, id: CompanyId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                companies::delete(conn, id.0),
                "company",
                id,
                "company_in_use",
                "clients still belong to this company",
            )
        })
        .await
}

/// Cursors of id-ordered lists are the last id seen.
pub(crate) fn decode_id_cursor(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .filter(|text| !text.is_empty())
        .map(|text| {
            decode_cursor::<Uuid>(text)
                .ok_or_else(|| AppError::invalid("cursor", "invalid_cursor", "is not a cursor from this API"))
        })
        .transpose()
}
