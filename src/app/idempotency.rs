//! Idempotency keys for every POST under `/api/v1` (required on money-moving ones): the same
//! key and request replay the first response; the key's record commits with the request's
//! effect (see `store::pg::idempotency`).

use super::constraints::{Meaning, Rule};
use super::{AppResult, AppState};
use crate::store::pg::idempotency as repo;
pub use crate::store::pg::idempotency::{recovery_point, scoped, Claim, StoredResponse};

/// Keys are checked by the HTTP layer before they reach the table.
pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("idempotency_keys_key_check", Meaning::Invariant),
    Rule::Check("idempotency_keys_state_check", Meaning::Invariant),
];

#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim(state: &AppState, key: String, method: String, path: String, body: Vec<u8>) -> AppResult<Claim> {
    let lease = state.settings.idempotency_lease;
    let ttl = state.settings.idempotency_ttl;
    state.db.bookkeeping(move |conn| Ok(repo::claim(conn, &key, &method, &path, &body, lease, ttl)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn complete(state: &AppState, key: String, response: StoredResponse) -> AppResult<()> {
    state.db.bookkeeping(move |conn| Ok(repo::complete(conn, &key, &response)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn release(state: &AppState, key: String) -> AppResult<()> {
    state.db.bookkeeping(move |conn| Ok(repo::release(conn, &key)?)).await
}

/// Frees the key of a request refused before any work (its unit of work never committed);
/// `false` when something committed under it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn release_untouched(state: &AppState, key: String) -> AppResult<bool> {
    state.db.bookkeeping(move |conn| Ok(repo::release_untouched(conn, &key)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn purge_expired(state: &AppState) -> AppResult<usize> {
    state.db.bookkeeping(|conn| Ok(repo::purge_expired(conn)?)).await
}
