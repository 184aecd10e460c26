//! Repository functions for `enrollments` (their payments are in the ledger, `payments`); the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::parse_text;
use super::schema::enrollments;
use crate::domain::ids::{ClientId, EnrollmentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::workshops::{Enrollment, EnrollmentFilter, EnrollmentStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Whether the client holds a live (not cancelled) enrollment in the workshop.
pub fn live_exists(conn: &mut PgConnection, workshop: WorkshopId, client: ClientId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        enrollments::table
            .filter(enrollments::workshop_id.eq(workshop.0))
            .filter(enrollments::client_id.eq(client.0))
            .filter(enrollments::status.ne(EnrollmentStatus::Cancelled.as_str())),
    ))
    .get_result(conn)
}

pub fn insert(conn: &mut PgConnection, enrollment: &Enrollment) -> QueryResult<()> {
    diesel::insert_into(enrollments::table).values(EnrollmentRow::from(enrollment)).execute(conn).map(|_| ())
}

pub fn find(conn: &mut PgConnection, id: EnrollmentId) -> QueryResult<Option<Enrollment>> {
    enrollments::table
        .find(id.0)
        .select(EnrollmentRow::as_select())
        .first::<EnrollmentRow>(conn)
        .optional()?
        .map(EnrollmentRow::into_domain)
        .transpose()
}

/// Reads and row-locks the enrollment: its payments and cancellation happen one at a time.
pub fn lock(conn: &mut PgConnection, id: EnrollmentId) -> QueryResult<Option<Enrollment>> {
    enrollments::table
        .find(id.0)
        .select(EnrollmentRow::as_select())
        .for_no_key_update()
        .first::<EnrollmentRow>(conn)
        .optional()?
        .map(EnrollmentRow::into_domain)
        .transpose()
}

pub fn cancel(conn: &mut PgConnection, id: EnrollmentId, now: DateTime<Utc>) -> QueryResult<Enrollment> {
    diesel::update(enrollments::table.find(id.0))
        .set((
            enrollments::status.eq(EnrollmentStatus::Cancelled.as_str()),
            enrollments::cancelled_at.eq(now),
            enrollments::updated_at.eq(now),
        ))
        .returning(EnrollmentRow::as_returning())
        .get_result::<EnrollmentRow>(conn)?
        .into_domain()
}

/// The enrollment's new amount paid (and what a refund moved to refunded) and the status that
/// goes with them, in one statement.
pub fn set_paid(
    conn: &mut PgConnection,
    id: EnrollmentId,
    amount_paid: Money,
    refunded_now: Money,
    status: EnrollmentStatus,
    now: DateTime<Utc>,
) -> QueryResult<Enrollment> {
    diesel::update(enrollments::table.find(id.0))
        .set((
            enrollments::amount_paid.eq(amount_paid.amount()),
            enrollments::amount_refunded.eq(enrollments::amount_refunded + refunded_now.amount()),
            enrollments::status.eq(status.as_str()),
            enrollments::updated_at.eq(now),
        ))
        .returning(EnrollmentRow::as_returning())
        .get_result::<EnrollmentRow>(conn)?
        .into_domain()
}

/// Enrollments newest first (UUIDv7 ids) before `before`.
pub fn list(
    conn: &mut PgConnection,
    filter: &EnrollmentFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Enrollment>> {
    let mut query =
        enrollments::table.select(EnrollmentRow::as_select()).order(enrollments::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(enrollments::id.lt(before));
    }
    if let Some(workshop_id) = filter.workshop_id {
        query = query.filter(enrollments::workshop_id.eq(workshop_id.0));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(enrollments::client_id.eq(client_id.0));
    }
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(enrollments::status.eq_any(statuses));
    }
    query.load::<EnrollmentRow>(conn)?.into_iter().map(EnrollmentRow::into_domain).collect()
}

/// Live enrollments that still owe money in the workshop (its debtors), oldest first.
pub fn debtors_of(conn: &mut PgConnection, workshop: WorkshopId) -> QueryResult<Vec<Enrollment>> {
    let unpaid: Vec<&str> = EnrollmentStatus::UNPAID.iter().map(|s| s.as_str()).collect();
    enrollments::table
        .filter(enrollments::workshop_id.eq(workshop.0))
        .filter(enrollments::status.eq_any(unpaid))
        .order(enrollments::id)
        .select(EnrollmentRow::as_select())
        .load::<EnrollmentRow>(conn)?
        .into_iter()
        .map(EnrollmentRow::into_domain)
        .collect()
}

/// Live enrollments in workshops starting in `(from, until]`, with their workshops.
pub fn starting_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<(Enrollment, crate::domain::workshops::Workshop)>> {
    use super::schema::workshops;
    let rows: Vec<EnrollmentRow> = enrollments::table
        .inner_join(workshops::table)
        .filter(workshops::starts_at.gt(from))
        .filter(workshops::starts_at.le(until))
        .filter(enrollments::status.ne(EnrollmentStatus::Cancelled.as_str()))
        .order(enrollments::id)
        .select(EnrollmentRow::as_select())
        .load(conn)?;
    let mut found = Vec::with_capacity(rows.len());
    let mut cache: std::collections::HashMap<uuid::Uuid, crate::domain::workshops::Workshop> = Default::default();
    for row in rows {
        let enrollment = row.into_domain()?;
        let workshop = match cache.get(&enrollment.workshop_id.0) {
            Some(workshop) => workshop.clone(),
            None => match super::workshops::find(conn, enrollment.workshop_id)? {
                Some(workshop) => {
                    cache.insert(enrollment.workshop_id.0, workshop.clone());
                    workshop
                }
                None => continue,
            },
        };
        found.push((enrollment, workshop));
    }
    Ok(found)
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enrollments, check_for_backend(diesel::pg::Pg))]
pub(super) struct EnrollmentRow {
    pub id: Uuid,
    pub workshop_id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub price: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl EnrollmentRow {
    pub fn into_domain(self) -> QueryResult<Enrollment> {
        let status = parse_text("enrollments.status", &self.status, EnrollmentStatus::parse)?;
        let (price, paid) = (Money::from_decimal(self.price), Money::from_decimal(self.amount_paid));
        let refunded = Money::from_decimal(self.amount_refunded);
        Ok(Enrollment {
            id: self.id.into(),
            workshop_id: self.workshop_id.into(),
            client_id: self.client_id.into(),
            balance: if status == EnrollmentStatus::Cancelled {
                Money::ZERO
            } else {
                price.saturating_sub(refunded).saturating_sub(paid)
            },
            status,
            price,
            amount_paid: paid,
            amount_refunded: refunded,
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

impl From<&Enrollment> for EnrollmentRow {
    fn from(e: &Enrollment) -> Self {
        EnrollmentRow {
            id: e.id.0,
            workshop_id: e.workshop_id.0,
            client_id: e.client_id.0,
            status: e.status.as_str().to_string(),
            price: e.price.amount(),
            amount_paid: e.amount_paid.amount(),
            amount_refunded: e.amount_refunded.amount(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            cancelled_at: e.cancelled_at,
        }
    }
}
