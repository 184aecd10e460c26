//! The outbox (`events`): inserted by the unit of work that makes a change, numbered after it
//! commits by the sequencer, read by the feed; and the sold-out markers the sequencer keeps.

use super::schema::{events, relay_positions, workshop_seats, workshop_sold_out};
use crate::domain::events::{Event, EventSubject, EventType, SubjectKind};
use crate::domain::ids::{EventId, WorkshopId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use serde_json::Value;
use std::cell::Cell;
use uuid::Uuid;

diesel::define_sql_function!(
    /// `r.event_type_matches(patterns, type)`: `*`, `family.*` or an exact type
    /// (`sql/replaceable.sql`).
    #[sql_name = "r.event_type_matches"]
    fn event_type_matches(patterns: Array<Text>, event_type: Text) -> Bool
);

thread_local! {
    /// Set when this thread's unit of work inserted an event, so `Db` can wake the sequencer
    /// once the work committed.
    static WRITTEN: Cell<bool> = const { Cell::new(false) };
}

/// Whether events were inserted since the last call (and resets the mark).
pub(super) fn take_written() -> bool {
    WRITTEN.with(|written| written.replace(false))
}

pub struct NewEvent {
    pub id: EventId,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub subject: EventSubject,
    /// The client the event concerns, if any (for the client's timeline).
    pub client_id: Option<Uuid>,
    pub data: Value,
}

pub fn insert(conn: &mut PgConnection, event: &NewEvent) -> QueryResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::id.eq(event.id.0),
            events::event_type.eq(event.event_type.as_str()),
            events::occurred_at.eq(event.occurred_at),
            events::subject_type.eq(event.subject.kind.as_str()),
            events::subject_id.eq(event.subject.id),
            events::client_id.eq(event.client_id),
            events::data.eq(&event.data),
        ))
        .execute(conn)?;
    WRITTEN.with(|written| written.set(true));
    Ok(())
}

/// An event the sequencer just numbered.
#[derive(Debug, Clone, QueryableByName)]
pub struct Sequenced {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub sequence: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub subject_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub client_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub data: Value,
}

/// Numbers up to `limit` committed, unnumbered events in id (time) order, continuing the series
/// without gaps. Only one session numbers at a time (a transaction-level advisory lock): `None`
/// when another holds it. Must run inside a transaction; the numbers become visible together
/// when it commits, after every number handed out before them.
pub fn sequence_pending(conn: &mut PgConnection, lock_key: i64, limit: i64) -> QueryResult<Option<Vec<Sequenced>>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Bool)]
        taken: bool,
    }
    let taken = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS taken")
        .bind::<BigInt, _>(lock_key)
        .get_result::<Taken>(conn)?
        .taken;
    if !taken {
        return Ok(None);
    }
    let mut numbered = diesel::sql_query(
        "WITH pending AS (
             SELECT id FROM events WHERE sequence IS NULL ORDER BY id LIMIT $1
         ), numbered AS (
             SELECT id, (SELECT coalesce(max(sequence), 0) FROM events) + row_number() OVER (ORDER BY id) AS seq
             FROM pending
         )
         UPDATE events e SET sequence = n.seq
         FROM numbered n WHERE e.id = n.id
         RETURNING e.id, e.sequence, e.type AS event_type, e.subject_id, e.client_id, e.data",
    )
    .bind::<BigInt, _>(limit)
    .load::<Sequenced>(conn)?;
    numbered.sort_by_key(|event| event.sequence);
    Ok(Some(numbered))
}

/// The columns an event is read with: their type (for boxed queries) and their value.
macro_rules! event_columns {
    ($($column:ident),+) => {
        type EventColumns = ($(events::$column,)+);
        const COLUMNS: EventColumns = ($(events::$column,)+);
    };
}
event_columns!(id, event_type, sequence, occurred_at, subject_type, subject_id, data);

type EventTuple = (Uuid, String, Option<i64>, DateTime<Utc>, String, Uuid, Value);

fn into_domain(
    (id, event_type, sequence, occurred_at, subject_type, subject_id, data): EventTuple,
) -> QueryResult<Event> {
    Ok(Event {
        id: EventId(id),
        event_type: super::parse_text("events.type", &event_type, EventType::parse)?,
        sequence: sequence.unwrap_or_default(),
        occurred_at,
        subject: EventSubject {
            kind: super::parse_text("events.subject_type", &subject_type, SubjectKind::parse)?,
            id: subject_id,
        },
        data,
    })
}

/// A published (numbered) event.
pub fn find(conn: &mut PgConnection, id: EventId) -> QueryResult<Option<Event>> {
    events::table
        .find(id.0)
        .filter(events::sequence.is_not_null())
        .select(COLUMNS)
        .first::<EventTuple>(conn)
        .optional()?
        .map(into_domain)
        .transpose()
}

/// Published events after `after`, in sequence order.
pub fn list(
    conn: &mut PgConnection,
    after: i64,
    patterns: Option<&[String]>,
    subject: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let mut query = events::table.filter(events::sequence.gt(after)).select(COLUMNS).into_boxed();
    if let Some(patterns) = patterns {
        query = query.filter(event_type_matches(patterns.to_vec(), events::event_type));
    }
    if let Some(subject) = subject {
        query = query.filter(events::subject_id.eq(subject));
    }
    query.order(events::sequence.asc()).limit(limit).load::<EventTuple>(conn)?.into_iter().map(into_domain).collect()
}

/// Published events by id (the payloads of a batch of deliveries).
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Event>> {
    events::table
        .filter(events::id.eq_any(ids))
        .filter(events::sequence.is_not_null())
        .select(COLUMNS)
        .load::<EventTuple>(conn)?
        .into_iter()
        .map(into_domain)
        .collect()
}

/// Whether a workshop has a seat no enrollment holds.
type FreeSeat = diesel::dsl::exists<
    diesel::dsl::Filter<
        diesel::dsl::Filter<workshop_seats::table, diesel::dsl::Eq<workshop_seats::workshop_id, Uuid>>,
        diesel::dsl::IsNull<workshop_seats::enrollment_id>,
    >,
>;

fn free_seat(workshop: WorkshopId) -> FreeSeat {
    diesel::dsl::exists(
        workshop_seats::table
            .filter(workshop_seats::workshop_id.eq(workshop.0))
            .filter(workshop_seats::enrollment_id.is_null()),
    )
}

/// Marks the workshop sold out if every seat is taken (as committed) and it is not marked yet;
/// `true` when this call marked it.
pub fn mark_sold_out(conn: &mut PgConnection, workshop: WorkshopId, now: DateTime<Utc>) -> QueryResult<bool> {
    let free = free_seat(workshop);
    if diesel::select(free).get_result::<bool>(conn)? {
        return Ok(false);
    }
    let inserted = diesel::insert_into(workshop_sold_out::table)
        .values((workshop_sold_out::workshop_id.eq(workshop.0), workshop_sold_out::since.eq(now)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Re-arms the sold-out announcement once the workshop has a free seat again.
pub fn clear_sold_out_if_free(conn: &mut PgConnection, workshop: WorkshopId) -> QueryResult<()> {
    let free = free_seat(workshop);
    diesel::delete(workshop_sold_out::table.find(workshop.0)).filter(free).execute(conn).map(|_| ())
}

/// (type, occurred_at, id, data) of an event on a client's timeline.
/// An event of a client's timeline: type, time, id, data, and its subject's type and id.
pub type TimelineEvent = (String, DateTime<Utc>, Uuid, Value, String, Uuid);

/// A client's published events (except comments, which the timeline reads from MongoDB),
/// newest first, before `(at, id)`.
pub fn of_client(
    conn: &mut PgConnection,
    client: Uuid,
    types: &[&str],
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<TimelineEvent>> {
    let mut query = events::table
        .filter(events::client_id.eq(client))
        .filter(events::sequence.is_not_null())
        .filter(events::event_type.eq_any(types))
        .select((
            events::event_type,
            events::occurred_at,
            events::id,
            events::data,
            events::subject_type,
            events::subject_id,
        ))
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(events::occurred_at.lt(at).or(events::occurred_at.eq(at).and(events::id.lt(id))));
    }
    query.order((events::occurred_at.desc(), events::id.desc())).limit(limit).load(conn)
}

/// The subjects (type and id) of these events, by event id.
pub fn subjects_of(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, String, Uuid)>> {
    events::table
        .filter(events::id.eq_any(ids))
        .select((events::id, events::subject_type, events::subject_id))
        .load(conn)
}

/// The last sequence `relay` published (0 before its first).
pub fn relay_position(conn: &mut PgConnection, relay: &str) -> QueryResult<i64> {
    relay_positions::table
        .find(relay)
        .select(relay_positions::last_sequence)
        .first(conn)
        .optional()
        .map(Option::unwrap_or_default)
}

/// Moves `relay`'s position forward to `sequence` (never back).
pub fn advance_relay(conn: &mut PgConnection, relay: &str, sequence: i64, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::insert_into(relay_positions::table)
        .values((
            relay_positions::relay.eq(relay),
            relay_positions::last_sequence.eq(sequence),
            relay_positions::updated_at.eq(now),
        ))
        .on_conflict(relay_positions::relay)
        .do_update()
        .set((
            relay_positions::last_sequence.eq(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "GREATEST(relay_positions.last_sequence, excluded.last_sequence)",
            )),
            relay_positions::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
