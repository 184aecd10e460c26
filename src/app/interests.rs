//! Interests: topics clients care about (workshop categories, product lines).

use super::constraints::{conflict, length, Meaning, Rule};
use super::{clock, id_page, AppResult, AppState, Found, Keyed};
use super::{delete_row, insert_row, update_row};
use crate::domain::ids::{InterestId, Located};
use crate::domain::interests::{Interest, InterestChanges, NewInterest};
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::store::pg::interests as repo;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("interests_name_key", conflict("name_taken", Some("name"), "an interest with this name exists")),
    Rule::Check("interests_name_check", length("name", 1, 100)),
    Rule::Check("interests_description_check", length("description", 0, 1000)),
];

/// Clients or workshops that have an interest keep it from being deleted.
pub(crate) const IN_USE: Meaning = conflict("interest_in_use", None, "clients or workshops still use this interest");

impl Keyed for Interest {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewInterest) -> AppResult<Interest> {
    let now = clock::now();
    let interest = Interest {
        version: 1,
        id: InterestId::new(),
        name: input.name,
        description: input.description,
        created_at: now,
        updated_at: now,
    };
    let path = interest.id.path();
    insert_row(state, interest, path, repo::insert).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: InterestId) -> AppResult<Interest> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<Interest>> {
    id_page(state, page, move |conn, after, limit| Ok(repo::list(conn, search.as_deref(), after, limit)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: &AppState,
    id: InterestId,
    changes: InterestChanges,
    precondition: Precondition,
) -> AppResult<Interest> {
    update_row(state, id, changes, precondition, repo::lock, repo::update).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(state: &AppState, id: InterestId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock, repo::delete).await
}
