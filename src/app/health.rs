//! Liveness and readiness.

use super::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub store: &'static str,
    pub ok: bool,
    pub error: Option<String>,
}

/// Pings both stores concurrently; each ping is bounded by its store's timeout.
pub async fn readiness(state: &AppState) -> Vec<StoreStatus> {
    let (pg, mongo) = tokio::join!(state.db.ping(), state.info.ping());
    vec![
        StoreStatus { store: "postgresql", ok: pg.is_ok(), error: pg.err().map(|e| e.to_string()) },
        StoreStatus { store: "mongodb", ok: mongo.is_ok(), error: mongo.err().map(|e| e.to_string()) },
    ]
}
