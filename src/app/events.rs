//! Events: recorded by the unit of work that makes a change (the transactional outbox),
//! numbered after commit by the sequencer, and read from the feed. The sequencer also fans each
//! published event out to the webhook endpoints subscribed to it, and derives the events that
//! only the committed state can tell (a workshop that just sold out).
//!
//! Each event's `data` is its subject as the API shows it: the HTTP layer owns that shape and
//! gives it through `Representation`, so the outbox never drifts from the responses.

use super::constraints::{Meaning, Rule};
use super::{clock, AppError, AppResult, AppState};
use crate::domain::events::{Event, EventPattern, EventSubject, EventType, SubjectKind};
use crate::domain::ids::{EventId, WorkshopId};
use crate::store::pg::events::{self as repo, NewEvent};
use crate::store::pg::{webhooks, workshops};
use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

/// The outbox's constraints: rows the code writes itself.
pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("events_type_check", Meaning::Invariant),
    Rule::Unique("events_sequence_key", Meaning::Invariant),
    Rule::foreign_key("workshop_sold_out_workshop_id_fkey", Meaning::Invariant, None),
    Rule::Check("relay_positions_last_sequence_check", Meaning::Invariant),
];

/// Events numbered per round.
const BATCH: i64 = 500;

/// A resource as the API shows it, for the `data` of its events.
pub trait Representation {
    const KIND: SubjectKind;
    fn subject_id(&self) -> Uuid;
    /// The client the resource belongs to, if it belongs to one.
    fn client_id(&self) -> Option<Uuid>;
    fn representation(&self) -> serde_json::Result<Value>;
}

/// A comment added to a client's document (its event's subject is the client).
#[derive(Debug, Clone)]
pub struct CommentAdded {
    pub client_id: crate::domain::ids::ClientId,
    pub comment: crate::domain::view::Comment,
}

/// The resource as the API shows it.
pub(crate) fn representation_of<R: Representation>(resource: &R) -> AppResult<Value> {
    resource
        .representation()
        .map_err(|err| AppError::Internal(anyhow::Error::new(err).context("rendering a resource as the API shows it")))
}

/// Records that `resource` changed, in the caller's transaction.
pub(crate) fn record<R: Representation>(conn: &mut PgConnection, event_type: EventType, resource: &R) -> AppResult<()> {
    let subject = EventSubject { kind: R::KIND, id: resource.subject_id() };
    insert(conn, event_type, subject, resource.client_id(), representation_of(resource)?)
}

/// `record` for a resource whose client the caller knows (a refund's is its payment's).
pub(crate) fn record_for_client<R: Representation>(
    conn: &mut PgConnection,
    event_type: EventType,
    resource: &R,
    client: crate::domain::ids::ClientId,
) -> AppResult<()> {
    let subject = EventSubject { kind: R::KIND, id: resource.subject_id() };
    insert(conn, event_type, subject, Some(client.0), representation_of(resource)?)
}

fn insert(
    conn: &mut PgConnection,
    event_type: EventType,
    subject: EventSubject,
    client_id: Option<Uuid>,
    data: Value,
) -> AppResult<()> {
    let event = NewEvent { id: EventId::new(), event_type, occurred_at: clock::now(), subject, client_id, data };
    Ok(repo::insert(conn, &event)?)
}

/// Records an event whose data is not its subject's own representation (a comment about a
/// client, a client's preferences).
pub(crate) fn record_data(
    conn: &mut PgConnection,
    event_type: EventType,
    subject: EventSubject,
    data: Value,
) -> AppResult<()> {
    let client = (subject.kind == SubjectKind::Client).then_some(subject.id);
    insert(conn, event_type, subject, client, data)
}

/// Records an event for a change made in MongoDB, right after the document write: there is no
/// transaction spanning both stores, so such an event is recorded once the write succeeded, and
/// a write its caller retries records another (at least once). If PostgreSQL fails in between,
/// the write stands and the missing event is logged as an error.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn record_after_document_write(
    state: &AppState,
    event_type: EventType,
    subject: EventSubject,
    data: Value,
) {
    // A unit of work: it commits with the request's audit entry and idempotency mark (the
    // MongoDB write before it is the request's effect).
    let outcome = state.db.tx(move |conn| record_data(conn, event_type, subject, data)).await;
    if let Err(err) = outcome {
        tracing::error!(event_type = %event_type, subject = %subject.id, error = %err, "event of a MongoDB write not recorded");
    }
}

/// `record_after_document_write` for a resource with a representation.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn record_resource_after_document_write<R: Representation>(
    state: &AppState,
    event_type: EventType,
    resource: &R,
) {
    match representation_of(resource) {
        Ok(data) => {
            let subject = EventSubject { kind: R::KIND, id: resource.subject_id() };
            record_after_document_write(state, event_type, subject, data).await;
        }
        Err(err) => tracing::error!(event_type = %event_type, error = %err, "event data could not be rendered"),
    }
}

/// What one sequencer round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    pub events: usize,
    pub deliveries: usize,
}

/// One sequencer round: numbers committed events (up to a batch), creates their webhook
/// deliveries and the events they imply, all in one transaction. Returns what it published;
/// nothing when another replica holds the sequencer lock this moment.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish(state: &AppState) -> AppResult<Published> {
    let published = state
        .db
        .tx(|conn| {
            let Some(batch) = repo::sequence_pending(conn, crate::store::pg::locks::SEQUENCER, BATCH)? else {
                return Ok(Published::default());
            };
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                return Ok(Published::default());
            };
            let now = clock::now();
            let deliveries = webhooks::fan_out(conn, first.sequence, last.sequence, now)?;
            for event in &batch {
                derive_from(conn, event, now)?;
            }
            super::notifications::queue_for_events(conn, &batch, now)?;
            Ok(Published { events: batch.len(), deliveries })
        })
        .await?;
    if published.deliveries > 0 {
        state.signals.deliveries.notify_one();
    }
    if published.events > 0 {
        state.signals.notifications.notify_one();
        state.signals.published.notify_one();
    }
    Ok(published)
}

/// Publishes until nothing is left (tests and the worker).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish_all(state: &AppState) -> AppResult<usize> {
    super::jobs::until_idle(|| async { Ok(publish(state).await?.events) }).await
}

/// Events that follow from a published one and the committed state it left: the enrollment
/// that took a workshop's last seat makes it sold out (announced once per time it fills); a
/// cancelled enrollment re-arms that.
fn derive_from(conn: &mut PgConnection, event: &repo::Sequenced, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
    let workshop_of = |conn: &mut PgConnection| -> AppResult<Option<WorkshopId>> {
        let enrollment = crate::store::pg::enrollments::find(conn, crate::domain::ids::EnrollmentId(event.subject_id))?;
        Ok(enrollment.map(|e| e.workshop_id))
    };
    match EventType::parse(&event.event_type) {
        Some(EventType::EnrollmentCreated) => {
            if let Some(workshop) = workshop_of(conn)? {
                if repo::mark_sold_out(conn, workshop, now)? {
                    if let Some(current) = workshops::find(conn, workshop)? {
                        record(conn, EventType::WorkshopSoldOut, &current)?;
                    }
                }
            }
        }
        Some(EventType::EnrollmentCancelled) => {
            if let Some(workshop) = workshop_of(conn)? {
                repo::clear_sold_out_if_free(conn, workshop)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub items: Vec<Event>,
    /// Where the next read starts: the last sequence returned, or `after` when none was.
    pub next_after: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    pub patterns: Option<Vec<EventPattern>>,
    pub subject_id: Option<Uuid>,
}

/// Published events after `after`, oldest first. Numbers are handed out only to committed
/// events, in one increasing series, so resuming after the last one seen never skips any.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn feed(state: &AppState, after: i64, filter: FeedFilter, limit: i64) -> AppResult<FeedPage> {
    let patterns = filter.patterns.map(|p| p.iter().map(EventPattern::as_text).collect::<Vec<_>>());
    let mut items = state
        .db
        .run(move |conn| Ok(repo::list(conn, after, patterns.as_deref(), filter.subject_id, limit + 1)?))
        .await?;
    let has_more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_after = items.last().map_or(after, |e| e.sequence);
    Ok(FeedPage { items, next_after, has_more })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: EventId) -> AppResult<Event> {
    use super::Found;
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}
