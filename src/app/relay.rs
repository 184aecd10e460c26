//! The NATS JetStream relay (when `NATS_URL` is set): publishes every published event, in
//! sequence order, to the stream `NATS_STREAM` (`CRM_EVENTS`) under `<NATS_SUBJECT_PREFIX>.<type>`
//! (`crm.events.order.placed`), with the event id as the message id, and moves its position
//! once JetStream acknowledged. One replica relays at a time (a session-level advisory lock on a
//! connection of its own); if one dies between publishing and moving its position, the next
//! publishes those events again and JetStream drops them as duplicates (the stream's duplicate
//! window, two minutes, covers the lock's hand-over).

use super::{clock, AppError, AppResult, AppState};
pub use crate::outside::nats::Relay;
use crate::store::pg::events;
use crate::store::pg::jobs::{self, JobLock};

const RELAY: &str = "nats";
/// Events published per round.
const BATCH: i64 = 500;

/// One relay round, if this replica gets the relay's lock: publishes up to a batch of events
/// after its position and moves the position to the last one JetStream acknowledged. Returns
/// how many were published (`None`: another replica relays now).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn relay_once(state: &AppState, relay: &Relay) -> AppResult<Option<usize>> {
    let url = state.settings.database_url.clone();
    let lock = tokio::task::spawn_blocking(move || jobs::try_lock(&url, crate::store::pg::locks::NATS_RELAY))
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("the relay lock task panicked")))??;
    let Some(lock) = lock else {
        return Ok(None);
    };
    let outcome = publish_batch(state, relay).await;
    release(lock).await;
    outcome.map(Some)
}

async fn publish_batch(state: &AppState, relay: &Relay) -> AppResult<usize> {
    let batch = state
        .db
        .read(|conn| {
            let after = events::relay_position(conn, RELAY)?;
            Ok(events::list(conn, after, None, None, BATCH)?)
        })
        .await?;
    let mut published = None;
    let mut count = 0;
    for event in &batch {
        let payload = serde_json::to_vec(event).map_err(anyhow::Error::new)?;
        if let Err(err) = relay.publish(event.event_type.as_str(), &event.id.to_string(), payload).await {
            tracing::warn!(sequence = event.sequence, error = %err, "NATS did not take an event; the relay resumes from it");
            break;
        }
        published = Some(event.sequence);
        count += 1;
    }
    if let Some(sequence) = published {
        let now = clock::now();
        state.db.run(move |conn| Ok(events::advance_relay(conn, RELAY, sequence, now)?)).await?;
    }
    Ok(count)
}

async fn release(lock: JobLock) {
    let _ = tokio::task::spawn_blocking(move || drop(lock)).await;
}
