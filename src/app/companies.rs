//! Companies: the legal entities B2B clients buy for.

use super::constraints::{conflict, invalid, length, Meaning, Rule};
use super::{clock, id_page, AppResult, AppState, Found, Keyed};
use super::{delete_row, insert_row, update_row};
use crate::domain::companies::{Company, CompanyChanges, NewCompany};
use crate::domain::ids::{CompanyId, Located};
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::store::pg::companies as repo;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique(
        "companies_legal_name_key",
        conflict("legal_name_taken", Some("legal_name"), "a company with this legal name exists"),
    ),
    Rule::Unique("companies_tax_id_key", conflict("tax_id_taken", Some("tax_id"), "a company with this tax id exists")),
    Rule::Check("companies_legal_name_check", length("legal_name", 1, 200)),
    Rule::Check("companies_tax_id_check", length("tax_id", 1, 50)),
    Rule::Check("companies_address_check", length("address", 0, 500)),
    Rule::Check("companies_phone_check", invalid("phone", "invalid_phone", "must be at most 40 characters long")),
];

/// Clients that belong to a company keep it from being deleted.
pub(crate) const IN_USE: Meaning = conflict("company_in_use", None, "clients still belong to this company");

impl Keyed for Company {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewCompany) -> AppResult<Company> {
    let now = clock::now();
    let company = Company {
        version: 1,
        id: CompanyId::new(),
        legal_name: input.legal_name,
        tax_id: input.tax_id,
        address: input.address,
        phone: input.phone,
        created_at: now,
        updated_at: now,
    };
    let path = company.id.path();
    insert_row(state, company, path, repo::insert).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: CompanyId) -> AppResult<Company> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<Company>> {
    id_page(state, page, move |conn, after, limit| Ok(repo::list(conn, search.as_deref(), after, limit)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: &AppState,
    id: CompanyId,
    changes: CompanyChanges,
    precondition: Precondition,
) -> AppResult<Company> {
    update_row(state, id, changes, precondition, repo::lock, repo::update).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(state: &AppState, id: CompanyId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock, repo::delete).await
}
