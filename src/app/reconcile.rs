//! Finds and repairs disagreements between the two stores:
//! clients without a document get an empty one; documents without a client are removed.
//! Safe to run while the API serves: both repairs are idempotent, documents are read before
//! clients (a client is always written before its document), and a document is only removed
//! after PostgreSQL confirmed its client is gone.

use super::{AppError, AppResult, AppState};
use crate::domain::ids::ClientId;
use crate::store::pg::clients as repo;
use std::collections::HashSet;
use uuid::Uuid;

const BATCH: i64 = 5_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub clients_without_document: Vec<ClientId>,
    pub orphan_documents: Vec<String>,
    pub repaired: bool,
}

pub async fn run(state: &AppState, repair: bool) -> AppResult<ReconcileReport> {
    let documented: HashSet<String> = state.info.client_ids().await?.into_iter().collect();

    let mut report = ReconcileReport { repaired: repair, ..Default::default() };
    let mut seen = HashSet::new();
    let mut after: Option<Uuid> = None;
    loop {
        let batch = state.db.run(move |conn| Ok::<_, AppError>(repo::ids_after(conn, after, BATCH)?)).await?;
        let Some(last) = batch.last().copied() else {
            break;
        };
        for id in batch {
            let text = id.to_string();
            if !documented.contains(&text) {
                report.clients_without_document.push(ClientId(id));
            }
            seen.insert(text);
        }
        after = Some(last);
    }

    // Documents not matched above may belong to clients created meanwhile: confirm in PostgreSQL.
    let candidates: Vec<String> = documented.into_iter().filter(|id| !seen.contains(id)).collect();
    let parsed: Vec<Uuid> = candidates.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
    let existing: HashSet<String> = state
        .db
        .run(move |conn| Ok::<_, AppError>(repo::existing_ids(conn, &parsed)?))
        .await?
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    report.orphan_documents = candidates.into_iter().filter(|id| !existing.contains(id)).collect();
    report.orphan_documents.sort();

    if repair {
        for id in &report.clients_without_document {
            state.info.ensure(*id).await?;
        }
        state.info.delete_by_raw_ids(&report.orphan_documents).await?;
    }
    Ok(report)
}
