//! Enrollments: taking a workshop seat race-free, and cancelling (their payments are in the
//! ledger, `payments`).
//!
//! Enrolling claims a free seat row with `FOR UPDATE SKIP LOCKED`, so there are never more
//! enrollments than seats, and simultaneous enrollments claim different rows and commit in
//! parallel rather than queueing on one counter. The client is locked until commit (a
//! concurrent delete or deactivation waits, or is seen); the workshop's terms are read under a
//! share lock. A partial unique index keeps one live enrollment per client and workshop (a
//! second concurrent attempt fails on it, and its claim is rolled back with it). Cancelling locks
//! the enrollment first, so its seat is freed once.

use super::constraints::{conflict, gone, invalid, Meaning, Rule};
use super::events::record;
use super::idempotency::recovery_point;
use super::orders::{check_buyer, lock_buyer, note_activity};
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use crate::domain::events::EventType;
use crate::domain::ids::{own_path, ClientId, EnrollmentId, Located, WorkshopId};
use crate::domain::money::Money;
use crate::domain::page::{Page, PageRequest};
use crate::domain::workshops::{Enrollment, EnrollmentFilter, EnrollmentStatus, OwnEnrollment, Workshop};
use crate::store::pg::{clients, enrollments as repo, workshops};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::json;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique(
        "enrollments_one_per_client",
        conflict("already_enrolled", Some("client_id"), "the client is already enrolled in this workshop"),
    ),
    Rule::Check("enrollments_status_check", Meaning::Invariant),
    Rule::Check("enrollments_price_check", Meaning::Invariant),
    Rule::Check("enrollments_status_matches_payment", Meaning::Invariant),
    Rule::Check("enrollments_paid_within_price", conflict("overpayment", Some("amount"), "more than the balance")),
    Rule::foreign_key(
        "enrollments_client_id_fkey",
        invalid("client_id", "unknown_client", "no client has this id"),
        Some(super::clients::IN_USE),
    ),
    Rule::foreign_key(
        "enrollments_workshop_id_fkey",
        gone("workshop"),
        Some(conflict("workshop_in_use", None, "the workshop has enrollments; deactivate it instead")),
    ),
];

impl Keyed for Enrollment {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn enroll(state: &AppState, workshop: WorkshopId, client: ClientId) -> AppResult<Enrollment> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let enrollment = enroll_in(conn, workshop, client, now)?;
            recovery_point(enrollment.id.path());
            Ok(enrollment)
        })
        .await
}

pub(crate) fn enroll_in(
    conn: &mut PgConnection,
    workshop: WorkshopId,
    client: ClientId,
    now: DateTime<Utc>,
) -> AppResult<Enrollment> {
    // Plain reads refuse a rush on a sold-out workshop at once, without locking anything or
    // waiting behind the transactions that are taking the last seats.
    check_buyer(conn, client, "enroll")?;
    if repo::live_exists(conn, workshop, client)? {
        return Err(already_enrolled());
    }
    if !workshops::has_free_seat(conn, workshop)? {
        let current = workshops::find(conn, workshop)?.found(workshop)?;
        return Err(seat_refusal(&current, now).unwrap_or_else(|| sold_out(&current)));
    }
    let buyer = lock_buyer(conn, client, "enroll")?;
    // The terms (price, activity, start) are read under a share lock, so a concurrent change to
    // the workshop commits either wholly before this enrollment or wholly after it.
    let current = workshops::share_lock(conn, workshop)?.found(workshop)?;
    if let Some(refusal) = seat_refusal(&current, now) {
        return Err(refusal);
    }
    let enrollment = Enrollment {
        id: EnrollmentId::new(),
        workshop_id: workshop,
        client_id: client,
        status: EnrollmentStatus::PendingPayment,
        price: current.price,
        amount_paid: Money::ZERO,
        amount_refunded: Money::ZERO,
        balance: current.price,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    repo::insert(conn, &enrollment)?;
    clients::add_interest(conn, client, current.category_id, now)?;
    note_activity(conn, client, buyer)?;
    // Claiming the seat comes last: the seat row stays locked only until the commit after it.
    if !workshops::take_seat(conn, workshop, enrollment.id)? {
        return Err(sold_out(&current));
    }
    record(conn, EventType::EnrollmentCreated, &enrollment)?;
    Ok(enrollment)
}

/// Why a workshop takes no enrollment now (other than being full), if it does not.
fn seat_refusal(workshop: &Workshop, now: DateTime<Utc>) -> Option<AppError> {
    if !workshop.active {
        Some(AppError::conflict("workshop_inactive", None, "this workshop takes no enrollments"))
    } else if workshop.starts_at <= now {
        Some(AppError::conflict("workshop_started", None, "this workshop has already started"))
    } else {
        None
    }
}

fn sold_out(workshop: &Workshop) -> AppError {
    AppError::conflict_with(
        "sold_out",
        None,
        "every seat of this workshop is taken",
        json!({"capacity": workshop.capacity, "seats_available": 0}),
    )
}

fn already_enrolled() -> AppError {
    AppError::conflict("already_enrolled", Some("client_id"), "the client is already enrolled in this workshop")
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: EnrollmentId) -> AppResult<Enrollment> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, filter: EnrollmentFilter, page: PageRequest) -> AppResult<Page<Enrollment>> {
    id_page(state, page, move |conn, before, limit| Ok(repo::list(conn, &filter, before, limit)?)).await
}

/// A customer's own enrollments, newest first, each with its workshop (read in one more query).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_own(
    state: &AppState,
    client: ClientId,
    statuses: Vec<EnrollmentStatus>,
    page: PageRequest,
) -> AppResult<Page<OwnEnrollment>> {
    let filter = EnrollmentFilter { client_id: Some(client), statuses, ..Default::default() };
    let page = list(state, filter, page).await?;
    let ids: Vec<WorkshopId> = page.items.iter().map(|e| e.workshop_id).collect();
    let found = state.db.run(move |conn| Ok(workshops::find_many(conn, &ids)?)).await?;
    page.try_map(|enrollment| {
        let workshop = found.iter().find(|w| w.id == enrollment.workshop_id).cloned().found(enrollment.workshop_id)?;
        Ok(OwnEnrollment { enrollment, workshop })
    })
}

/// A customer's own enrollment with its workshop; another client's is as if it did not exist.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_own(state: &AppState, client: ClientId, id: EnrollmentId) -> AppResult<OwnEnrollment> {
    state
        .db
        .run(move |conn| {
            let enrollment = repo::find(conn, id)?.filter(|e| e.client_id == client).found(id)?;
            let workshop = workshops::find(conn, enrollment.workshop_id)?.found(enrollment.workshop_id)?;
            Ok(OwnEnrollment { enrollment, workshop })
        })
        .await
}

/// A customer enrolls their own client (the seat is taken as for any enrollment).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn enroll_own(state: &AppState, client: ClientId, workshop: WorkshopId) -> AppResult<OwnEnrollment> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let enrollment = enroll_in(conn, workshop, client, now)?;
            recovery_point(own_path("enrollments", Some(&enrollment.id)));
            let workshop = workshops::find(conn, workshop)?.found(workshop)?;
            Ok(OwnEnrollment { enrollment, workshop })
        })
        .await
}

/// Cancels the enrollment and releases its seat, once: a second cancel is a 409. Payments
/// already made stay recorded (refunds belong to payments).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn cancel(state: &AppState, id: EnrollmentId) -> AppResult<Enrollment> {
    Ok(cancel_as(state, id, None).await?.0)
}

/// A customer cancels their own enrollment under the workshop's rule: while nothing is paid,
/// until `cancellation_hours` before the start. A paid seat is cancelled by staff, who refund it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn cancel_own(state: &AppState, client: ClientId, id: EnrollmentId) -> AppResult<OwnEnrollment> {
    let (enrollment, workshop) = cancel_as(state, id, Some(client)).await?;
    let workshop =
        workshop.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a customer's cancel read no workshop")))?;
    Ok(OwnEnrollment { enrollment, workshop })
}

/// The cancelled enrollment, and for a customer the workshop whose rule allowed it.
async fn cancel_as(
    state: &AppState,
    id: EnrollmentId,
    customer: Option<ClientId>,
) -> AppResult<(Enrollment, Option<Workshop>)> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let enrollment = repo::lock(conn, id)?.found(id)?;
            if let Some(client) = customer {
                if enrollment.client_id != client {
                    return Err(AppError::not_found(id));
                }
            }
            if enrollment.status == EnrollmentStatus::Cancelled {
                return Err(AppError::conflict("already_cancelled", None, "this enrollment is already cancelled"));
            }
            let workshop = match customer {
                Some(_) => Some(customer_may_cancel(conn, &enrollment, now)?),
                None => None,
            };
            let cancelled = repo::cancel(conn, id, now)?;
            workshops::release_seat(conn, id)?;
            record(conn, EventType::EnrollmentCancelled, &cancelled)?;
            Ok((cancelled, workshop))
        })
        .await
}

/// The workshop's rule for a customer cancelling their own seat; the workshop, when it allows it.
fn customer_may_cancel(conn: &mut PgConnection, enrollment: &Enrollment, now: DateTime<Utc>) -> AppResult<Workshop> {
    if !enrollment.amount_paid.is_zero() {
        return Err(AppError::conflict(
            "enrollment_paid",
            None,
            "a paid seat is cancelled by the staff, who refund it: contact the business",
        ));
    }
    let workshop = workshops::find(conn, enrollment.workshop_id)?.found(enrollment.workshop_id)?;
    let until = workshop.cancellable_until();
    if now > until {
        return Err(AppError::conflict_with(
            "cancellation_closed",
            None,
            format!(
                "this workshop's seats can be cancelled until {} hours before it starts",
                workshop.cancellation_hours
            ),
            json!({"cancellable_until": until, "starts_at": workshop.starts_at}),
        ));
    }
    Ok(workshop)
}
