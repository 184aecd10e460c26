//! Liveness and readiness.

use super::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub store: &'static str,
    pub up: bool,
}

/// Pings both stores concurrently; each ping is bounded by its store's timeout. Why a store is
/// down goes to the log, not to the caller.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn readiness(state: &AppState) -> Vec<StoreStatus> {
    let (pg, mongo) = tokio::join!(state.db.ping(), state.info.ping());
    if let Err(err) = &pg {
        tracing::warn!(store = "postgresql", error = %err, "readiness: store down");
    }
    if let Err(err) = &mongo {
        tracing::warn!(store = "mongodb", error = %err, "readiness: store down");
    }
    vec![StoreStatus { store: "postgresql", up: pg.is_ok() }, StoreStatus { store: "mongodb", up: mongo.is_ok() }]
}
