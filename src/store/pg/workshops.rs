//! Repository functions for `workshops`, `enrollments` and `enrollment_payments`.

use super::models::{EnrollmentRow, PaymentRow, WorkshopChangeset, WorkshopRow};
use super::schema::{client_interests, clients, enrollment_payments, enrollments, workshops};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

pub fn insert_workshop(conn: &mut PgConnection, row: &WorkshopRow) -> QueryResult<WorkshopRow> {
    diesel::insert_into(workshops::table).values(row).returning(WorkshopRow::as_returning()).get_result(conn)
}

pub fn find_workshop(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WorkshopRow>> {
    workshops::table.find(id).select(WorkshopRow::as_select()).first(conn).optional()
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
    match filter.has_seats {
        Some(true) => query = query.filter(workshops::seats_taken.lt(workshops::capacity)),
        Some(false) => query = query.filter(workshops::seats_taken.ge(workshops::capacity)),
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

/// Takes one seat of an active workshop that has not started, in one conditional statement:
/// however many enrollments race, `seats_taken` never passes `capacity`. `false` when the
/// workshop is missing, inactive, started or sold out; the caller reads the row to say which.
pub fn take_seat(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(
        workshops::table
            .find(id)
            .filter(workshops::active.eq(true))
            .filter(workshops::starts_at.gt(now))
            .filter(workshops::seats_taken.lt(workshops::capacity)),
    )
    .set(workshops::seats_taken.eq(workshops::seats_taken + 1))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn release_seat(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(workshops::table.find(id))
        .set(workshops::seats_taken.eq(workshops::seats_taken - 1))
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
