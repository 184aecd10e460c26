//! Repository functions for `workshops`, `enrollments` and `enrollment_payments`.

use super::models::{EnrollmentRow, PaymentRow, WorkshopChangeset, WorkshopRow};
use super::schema::{client_interests, clients, enrollment_payments, enrollments, workshop_seats, workshops};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

pub fn insert_workshop(conn: &mut PgConnection, row: &WorkshopRow) -> QueryResult<WorkshopRow> {
    diesel::insert_into(workshops::table).values(row).returning(WorkshopRow::as_returning()).get_result(conn)
}

pub fn find_workshop(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WorkshopRow>> {
    workshops::table.find(id).select(WorkshopRow::as_select()).first(conn).optional()
}

/// Reads the workshop and holds a share lock on it until the transaction ends: enrollments do
/// not block each other, but a change to the workshop (price, activity, start) waits for them,
/// and they for it, so an enrollment never commits with terms the workshop no longer has.
pub fn share_lock_workshop(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WorkshopRow>> {
    workshops::table.find(id).select(WorkshopRow::as_select()).for_share().first(conn).optional()
}

#[derive(Debug, Clone, Default)]
pub struct WorkshopFilter {
    pub category_id: Option<Uuid>,
    pub modality: Option<&'static str>,
    /// Only workshops starting after this instant.
    pub starting_after: Option<DateTime<Utc>>,
    pub has_seats: Option<bool>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

/// Workshops by start time (then id), after the position `after`.
pub fn list_workshops(
    conn: &mut PgConnection,
    filter: &WorkshopFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<WorkshopRow>> {
    let mut query = workshops::table
        .select(WorkshopRow::as_select())
        .order((workshops::starts_at.asc(), workshops::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(workshops::starts_at.gt(at).or(workshops::starts_at.eq(at).and(workshops::id.gt(id))));
    }
    if let Some(category_id) = filter.category_id {
        query = query.filter(workshops::category_id.eq(category_id));
    }
    if let Some(modality) = filter.modality {
        query = query.filter(workshops::modality.eq(modality));
    }
    if let Some(after) = filter.starting_after {
        query = query.filter(workshops::starts_at.gt(after));
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
        let pattern = super::like_pattern(text);
        query = query.filter(workshops::name.ilike(pattern.clone()).or(workshops::description.ilike(pattern)));
    }
    query.load(conn)
}

pub fn update_workshop(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &WorkshopChangeset,
) -> QueryResult<Option<WorkshopRow>> {
    diesel::update(workshops::table.find(id))
        .set(changes)
        .returning(WorkshopRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn delete_workshop(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(workshops::table.find(id)).execute(conn).map(|n| n > 0)
}

/// Reads and row-locks the workshop (capacity changes run one at a time).
pub fn lock_workshop(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WorkshopRow>> {
    workshops::table.find(id).select(WorkshopRow::as_select()).for_update().first(conn).optional()
}

/// Seats held by live enrollments, per workshop.
pub fn seats_taken(conn: &mut PgConnection, workshop_ids: &[Uuid]) -> QueryResult<HashMap<Uuid, i32>> {
    let counts: Vec<(Uuid, i64)> = workshop_seats::table
        .filter(workshop_seats::workshop_id.eq_any(workshop_ids))
        .filter(workshop_seats::enrollment_id.is_not_null())
        .group_by(workshop_seats::workshop_id)
        .select((workshop_seats::workshop_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().map(|(id, n)| (id, i32::try_from(n).unwrap_or(i32::MAX))).collect())
}

pub fn has_free_seat(conn: &mut PgConnection, workshop_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        workshop_seats::table
            .filter(workshop_seats::workshop_id.eq(workshop_id))
            .filter(workshop_seats::enrollment_id.is_null()),
    ))
    .get_result(conn)
}

/// Adds `count` free seats after the highest seat number.
pub fn add_seats(conn: &mut PgConnection, workshop_id: Uuid, count: i32) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO workshop_seats (workshop_id, seat_no)
         SELECT $1, n FROM generate_series(
             (SELECT coalesce(max(seat_no), 0) + 1 FROM workshop_seats WHERE workshop_id = $1),
             (SELECT coalesce(max(seat_no), 0) + $2 FROM workshop_seats WHERE workshop_id = $1)) AS n",
    )
    .bind::<diesel::sql_types::Uuid, _>(workshop_id)
    .bind::<diesel::sql_types::Integer, _>(count)
    .execute(conn)
    .map(|_| ())
}

/// Removes up to `count` free seats (waiting for seats other transactions are claiming, so a
/// seat claimed meanwhile is not removed); returns how many were removed.
pub fn remove_free_seats(conn: &mut PgConnection, workshop_id: Uuid, count: i32) -> QueryResult<i32> {
    diesel::sql_query(
        "DELETE FROM workshop_seats WHERE (workshop_id, seat_no) IN (
             SELECT workshop_id, seat_no FROM workshop_seats
              WHERE workshop_id = $1 AND enrollment_id IS NULL
              ORDER BY seat_no DESC LIMIT $2 FOR UPDATE)",
    )
    .bind::<diesel::sql_types::Uuid, _>(workshop_id)
    .bind::<diesel::sql_types::Integer, _>(count)
    .execute(conn)
    .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Claims a free seat for the enrollment. Concurrent claims skip seats another transaction is
/// claiming (`SKIP LOCKED`), so they proceed — and commit — in parallel. Only when no unclaimed
/// seat is left does a claim wait for the others' outcome, so a seat released by a transaction
/// that rolls back is still found. `false`: every seat is taken.
pub fn take_seat(conn: &mut PgConnection, workshop_id: Uuid, enrollment_id: Uuid) -> QueryResult<bool> {
    for lock in ["FOR UPDATE SKIP LOCKED", "FOR UPDATE"] {
        let claimed = diesel::sql_query(format!(
            "UPDATE workshop_seats SET enrollment_id = $2 WHERE (workshop_id, seat_no) = (
                 SELECT workshop_id, seat_no FROM workshop_seats
                  WHERE workshop_id = $1 AND enrollment_id IS NULL
                  ORDER BY seat_no LIMIT 1 {lock})"
        ))
        .bind::<diesel::sql_types::Uuid, _>(workshop_id)
        .bind::<diesel::sql_types::Uuid, _>(enrollment_id)
        .execute(conn)?;
        if claimed == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Frees the seat the enrollment holds.
pub fn release_seat(conn: &mut PgConnection, enrollment_id: Uuid) -> QueryResult<()> {
    diesel::update(workshop_seats::table.filter(workshop_seats::enrollment_id.eq(enrollment_id)))
        .set(workshop_seats::enrollment_id.eq(None::<Uuid>))
        .execute(conn)
        .map(|_| ())
}

/// The client's live enrollment in the workshop, if any.
pub fn live_enrollment_exists(conn: &mut PgConnection, workshop_id: Uuid, client_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        enrollments::table
            .filter(enrollments::workshop_id.eq(workshop_id))
            .filter(enrollments::client_id.eq(client_id))
            .filter(enrollments::status.ne("cancelled")),
    ))
    .get_result(conn)
}

pub fn insert_enrollment(conn: &mut PgConnection, row: &EnrollmentRow) -> QueryResult<()> {
    diesel::insert_into(enrollments::table).values(row).execute(conn).map(|_| ())
}

/// Adds the interest to the client unless it is there; a new interest bumps the client's
/// version (its `ETag`), since the client's representation changed.
pub fn add_client_interest(conn: &mut PgConnection, client_id: Uuid, interest_id: Uuid) -> QueryResult<()> {
    let added = diesel::insert_into(client_interests::table)
        .values((client_interests::client_id.eq(client_id), client_interests::interest_id.eq(interest_id)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if added > 0 {
        diesel::update(clients::table.find(client_id))
            .set((clients::version.eq(clients::version + 1), clients::updated_at.eq(diesel::dsl::now)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_enrollment(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<EnrollmentRow>> {
    enrollments::table.find(id).select(EnrollmentRow::as_select()).first(conn).optional()
}

pub fn lock_enrollment(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<EnrollmentRow>> {
    enrollments::table.find(id).select(EnrollmentRow::as_select()).for_update().first(conn).optional()
}

pub fn cancel_enrollment(conn: &mut PgConnection, id: Uuid) -> QueryResult<EnrollmentRow> {
    diesel::update(enrollments::table.find(id))
        .set((
            enrollments::status.eq("cancelled"),
            enrollments::cancelled_at.eq(diesel::dsl::now),
            enrollments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(EnrollmentRow::as_returning())
        .get_result(conn)
}

pub fn record_payment(
    conn: &mut PgConnection,
    payment: &PaymentRow,
    amount_paid: Decimal,
    status: &str,
) -> QueryResult<EnrollmentRow> {
    diesel::insert_into(enrollment_payments::table).values(payment).execute(conn)?;
    diesel::update(enrollments::table.find(payment.enrollment_id))
        .set((
            enrollments::amount_paid.eq(amount_paid),
            enrollments::status.eq(status),
            enrollments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(EnrollmentRow::as_returning())
        .get_result(conn)
}

pub fn list_payments(conn: &mut PgConnection, enrollment_id: Uuid) -> QueryResult<Vec<PaymentRow>> {
    enrollment_payments::table
        .filter(enrollment_payments::enrollment_id.eq(enrollment_id))
        .select(PaymentRow::as_select())
        .order(enrollment_payments::id.asc())
        .load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    pub workshop_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub statuses: Vec<&'static str>,
}

/// Enrollments newest first (UUIDv7 ids) before `before`.
pub fn list_enrollments(
    conn: &mut PgConnection,
    filter: &EnrollmentFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<EnrollmentRow>> {
    let mut query =
        enrollments::table.select(EnrollmentRow::as_select()).order(enrollments::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(enrollments::id.lt(before));
    }
    if let Some(workshop_id) = filter.workshop_id {
        query = query.filter(enrollments::workshop_id.eq(workshop_id));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(enrollments::client_id.eq(client_id));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(enrollments::status.eq_any(filter.statuses.clone()));
    }
    query.load(conn)
}
