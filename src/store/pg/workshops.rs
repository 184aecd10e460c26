//! Repository functions for `workshops` and `workshop_seats`. Every workshop read carries its
//! seats taken, counted in the same statement; the rows follow them.

use super::custom_plan::custom_plan;
use super::keyset;

use super::parse_text;
use super::schema::{workshop_seats, workshops};
use crate::domain::ids::{EnrollmentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::workshops::Modality;
use crate::domain::workshops::{Workshop, WorkshopChanges, WorkshopFilter};
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Seats held by live enrollments, as a correlated subquery of the workshop row.
fn seats_taken() -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>(
        "(SELECT count(*) FROM workshop_seats s WHERE s.workshop_id = workshops.id AND s.enrollment_id IS NOT NULL)",
    )
}

fn into_domain((row, taken): (WorkshopRow, i64)) -> QueryResult<Workshop> {
    row.into_domain(taken)
}

/// Inserts the workshop and its seats.
pub fn insert(conn: &mut PgConnection, workshop: &Workshop) -> QueryResult<()> {
    diesel::insert_into(workshops::table).values(WorkshopRow::from(workshop)).execute(conn)?;
    add_seats(conn, workshop.id, workshop.capacity)
}

pub fn find(conn: &mut PgConnection, id: WorkshopId) -> QueryResult<Option<Workshop>> {
    workshops::table
        .find(id.0)
        .select((WorkshopRow::as_select(), seats_taken()))
        .first(conn)
        .optional()?
        .map(into_domain)
        .transpose()
}

/// The workshops of these ids (those that exist), each with its seats taken.
pub fn find_many(conn: &mut PgConnection, ids: &[WorkshopId]) -> QueryResult<Vec<Workshop>> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    workshops::table
        .filter(workshops::id.eq_any(ids))
        .select((WorkshopRow::as_select(), seats_taken()))
        .load(conn)?
        .into_iter()
        .map(into_domain)
        .collect()
}

/// Reads the workshop and holds a share lock on it until the transaction ends: enrollments do
/// not block each other, but a change to the workshop (price, activity, start) waits for them,
/// and they for it, so an enrollment never commits with terms the workshop no longer has.
pub fn share_lock(conn: &mut PgConnection, id: WorkshopId) -> QueryResult<Option<Workshop>> {
    workshops::table
        .find(id.0)
        .select((WorkshopRow::as_select(), seats_taken()))
        .for_share()
        .first(conn)
        .optional()?
        .map(into_domain)
        .transpose()
}

/// Reads and row-locks the workshop (changes to one workshop run one at a time).
pub fn lock(conn: &mut PgConnection, id: WorkshopId) -> QueryResult<Option<Workshop>> {
    workshops::table
        .find(id.0)
        .select((WorkshopRow::as_select(), seats_taken()))
        .for_update()
        .first(conn)
        .optional()?
        .map(into_domain)
        .transpose()
}

/// Workshops by start time (then id), after the position `after`, each with its seats taken.
pub fn list(
    conn: &mut PgConnection,
    filter: &WorkshopFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Workshop>> {
    let mut query = workshops::table
        .select((WorkshopRow::as_select(), seats_taken()))
        .order((workshops::starts_at.asc(), workshops::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset::after(workshops::starts_at, workshops::id, at, id, false));
    }
    if let Some(category_id) = filter.category_id {
        query = query.filter(workshops::category_id.eq(category_id.0));
    }
    if let Some(modality) = filter.modality {
        query = query.filter(workshops::modality.eq(modality.as_str()));
    }
    if filter.upcoming {
        query = query.filter(workshops::starts_at.gt(now));
    }
    let free_seat = workshop_seats::table
        .filter(workshop_seats::workshop_id.eq(workshops::id))
        .filter(workshop_seats::enrollment_id.is_null());
    match filter.has_seats {
        Some(true) => query = query.filter(diesel::dsl::exists(free_seat)),
        Some(false) => query = query.filter(diesel::dsl::not(diesel::dsl::exists(free_seat))),
        None => {}
    }
    if let Some(active) = filter.active {
        query = query.filter(workshops::active.eq(active));
    }
    if let Some(text) = &filter.search {
        // Name and description, lowercased in one indexed column.
        query = query.filter(custom_plan(workshops::search_text.like(super::lower(super::like_pattern(text)))));
    }
    query.load::<(WorkshopRow, i64)>(conn)?.into_iter().map(into_domain).collect()
}

pub fn update(
    conn: &mut PgConnection,
    id: WorkshopId,
    changes: &WorkshopChanges,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(workshops::table.find(id.0)).set(WorkshopChangeset::new(changes, now)).execute(conn).map(|_| ())
}

pub fn delete(conn: &mut PgConnection, id: WorkshopId) -> QueryResult<bool> {
    diesel::delete(workshops::table.find(id.0)).execute(conn).map(|n| n > 0)
}

pub fn has_free_seat(conn: &mut PgConnection, id: WorkshopId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        workshop_seats::table
            .filter(workshop_seats::workshop_id.eq(id.0))
            .filter(workshop_seats::enrollment_id.is_null()),
    ))
    .get_result(conn)
}

/// Adds `count` free seats after the highest seat number.
pub fn add_seats(conn: &mut PgConnection, id: WorkshopId, count: i32) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO workshop_seats (workshop_id, seat_no)
         SELECT $1, n FROM generate_series(
             (SELECT coalesce(max(seat_no), 0) + 1 FROM workshop_seats WHERE workshop_id = $1),
             (SELECT coalesce(max(seat_no), 0) + $2 FROM workshop_seats WHERE workshop_id = $1)) AS n",
    )
    .bind::<diesel::sql_types::Uuid, _>(id.0)
    .bind::<diesel::sql_types::Integer, _>(count)
    .execute(conn)
    .map(|_| ())
}

/// Removes up to `count` free seats (waiting for seats other transactions are claiming, so a
/// seat claimed meanwhile is not removed); returns how many were removed.
pub fn remove_free_seats(conn: &mut PgConnection, id: WorkshopId, count: i32) -> QueryResult<i32> {
    diesel::sql_query(
        "DELETE FROM workshop_seats WHERE (workshop_id, seat_no) IN (
             SELECT workshop_id, seat_no FROM workshop_seats
              WHERE workshop_id = $1 AND enrollment_id IS NULL
              ORDER BY seat_no DESC LIMIT $2 FOR UPDATE)",
    )
    .bind::<diesel::sql_types::Uuid, _>(id.0)
    .bind::<diesel::sql_types::Integer, _>(count)
    .execute(conn)
    .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Claims a free seat for the enrollment. Concurrent claims skip seats another transaction is
/// claiming (`SKIP LOCKED`), so they proceed — and commit — in parallel. Only when no unclaimed
/// seat is left does a claim wait for the others' outcome, so a seat released by a transaction
/// that rolls back is still found. `false`: every seat is taken.
pub fn take_seat(conn: &mut PgConnection, id: WorkshopId, enrollment: EnrollmentId) -> QueryResult<bool> {
    for lock in ["FOR UPDATE SKIP LOCKED", "FOR UPDATE"] {
        let claimed = diesel::sql_query(format!(
            "UPDATE workshop_seats SET enrollment_id = $2 WHERE (workshop_id, seat_no) = (
                 SELECT workshop_id, seat_no FROM workshop_seats
                  WHERE workshop_id = $1 AND enrollment_id IS NULL
                  ORDER BY seat_no LIMIT 1 {lock})"
        ))
        .bind::<diesel::sql_types::Uuid, _>(id.0)
        .bind::<diesel::sql_types::Uuid, _>(enrollment.0)
        .execute(conn)?;
        if claimed == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Frees the seat the enrollment holds.
pub fn release_seat(conn: &mut PgConnection, enrollment: EnrollmentId) -> QueryResult<()> {
    diesel::update(workshop_seats::table.filter(workshop_seats::enrollment_id.eq(enrollment.0)))
        .set(workshop_seats::enrollment_id.eq(None::<Uuid>))
        .execute(conn)
        .map(|_| ())
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workshops, check_for_backend(diesel::pg::Pg))]
pub(super) struct WorkshopRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub modality: String,
    pub location: Option<String>,
    pub link: Option<String>,
    pub price: Decimal,
    pub capacity: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub cancellation_hours: i32,
}

impl WorkshopRow {
    /// The workshop with `seats_taken` live enrollments holding seats.
    pub fn into_domain(self, seats_taken: i64) -> QueryResult<Workshop> {
        let seats_taken = i32::try_from(seats_taken).unwrap_or(i32::MAX);
        Ok(Workshop {
            version: self.version,
            id: self.id.into(),
            modality: parse_text("workshops.modality", &self.modality, Modality::parse)?,
            name: self.name,
            description: self.description,
            category_id: self.category_id.into(),
            starts_at: self.starts_at,
            duration_minutes: self.duration_minutes,
            location: self.location,
            link: self.link,
            price: Money::from_decimal(self.price),
            capacity: self.capacity,
            seats_taken,
            seats_available: self.capacity - seats_taken,
            cancellation_hours: self.cancellation_hours,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl From<&Workshop> for WorkshopRow {
    fn from(w: &Workshop) -> Self {
        WorkshopRow {
            version: w.version,
            id: w.id.0,
            name: w.name.clone(),
            description: w.description.clone(),
            category_id: w.category_id.0,
            starts_at: w.starts_at,
            duration_minutes: w.duration_minutes,
            modality: w.modality.as_str().to_string(),
            location: w.location.clone(),
            link: w.link.clone(),
            price: w.price.amount(),
            capacity: w.capacity,
            cancellation_hours: w.cancellation_hours,
            active: w.active,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = workshops)]
pub(super) struct WorkshopChangeset {
    name: Option<String>,
    description: Option<Option<String>>,
    category_id: Option<Uuid>,
    starts_at: Option<DateTime<Utc>>,
    duration_minutes: Option<i32>,
    modality: Option<&'static str>,
    location: Option<Option<String>>,
    link: Option<Option<String>>,
    price: Option<Decimal>,
    capacity: Option<i32>,
    cancellation_hours: Option<i32>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl WorkshopChangeset {
    pub fn new(changes: &WorkshopChanges, now: DateTime<Utc>) -> Self {
        WorkshopChangeset {
            name: changes.name.clone(),
            description: changes.description.clone(),
            category_id: changes.category_id.map(|id| id.0),
            starts_at: changes.starts_at,
            duration_minutes: changes.duration_minutes,
            modality: changes.modality.map(Modality::as_str),
            location: changes.location.clone(),
            link: changes.link.clone(),
            price: changes.price.map(Money::amount),
            capacity: changes.capacity,
            cancellation_hours: changes.cancellation_hours,
            active: changes.active,
            updated_at: now,
        }
    }
}
