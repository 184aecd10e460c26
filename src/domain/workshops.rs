//! Workshop and enrollment rules.

use crate::domain::ids::{ClientId, EnrollmentId, InterestId, WorkshopId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};

text_enum!(
    /// Where a workshop happens: `in_person` needs a `location`, `online` a `link`.
    Modality { InPerson => "in_person", Online => "online" }
);

text_enum!(
    /// `pending_payment` → `partially_paid` → `paid` as payments arrive; `cancelled` releases the seat.
    EnrollmentStatus {
        PendingPayment => "pending_payment",
        PartiallyPaid => "partially_paid",
        Paid => "paid",
        Cancelled => "cancelled",
    }
);

impl EnrollmentStatus {
    /// The status that `paid` of `price` means for a live enrollment.
    pub fn for_payment(paid: Money, price: Money) -> Self {
        if paid.is_zero() {
            EnrollmentStatus::PendingPayment
        } else if paid < price {
            EnrollmentStatus::PartiallyPaid
        } else {
            EnrollmentStatus::Paid
        }
    }

    /// Unpaid enrollments are the debtors list.
    pub const UNPAID: [EnrollmentStatus; 2] = [EnrollmentStatus::PendingPayment, EnrollmentStatus::PartiallyPaid];
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkshop {
    pub name: String,
    pub description: Option<String>,
    pub category_id: InterestId,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub modality: Modality,
    pub location: Option<String>,
    pub link: Option<String>,
    pub price: Money,
    pub capacity: i32,
    /// Customers may cancel their own unpaid enrollment until this many hours before the start.
    pub cancellation_hours: i32,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkshopChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub category_id: Option<InterestId>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub modality: Option<Modality>,
    pub location: Option<Option<String>>,
    pub link: Option<Option<String>>,
    pub price: Option<Money>,
    pub capacity: Option<i32>,
    pub cancellation_hours: Option<i32>,
    pub active: Option<bool>,
}

/// Filters of `GET /workshops` (ordered by start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkshopFilter {
    pub category_id: Option<InterestId>,
    pub modality: Option<Modality>,
    /// Only workshops that have not started.
    pub upcoming: bool,
    /// `true`: only workshops with a free seat; `false`: only sold-out ones.
    pub has_seats: Option<bool>,
    pub active: Option<bool>,
    /// Matches name or description, ignoring case.
    pub search: Option<String>,
}

/// Filters of `GET /enrollments` (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnrollmentFilter {
    pub workshop_id: Option<WorkshopId>,
    pub client_id: Option<ClientId>,
    /// Any of these statuses; empty means any status.
    pub statuses: Vec<EnrollmentStatus>,
}

impl EnrollmentFilter {
    /// The statuses a `status` and an `unpaid` filter select together; `None` when they
    /// exclude each other (the list is empty).
    pub fn statuses(status: Option<EnrollmentStatus>, unpaid: Option<bool>) -> Option<Vec<EnrollmentStatus>> {
        let candidates: Vec<EnrollmentStatus> = match status {
            Some(status) => vec![status],
            None if unpaid.is_none() => return Some(Vec::new()),
            None => EnrollmentStatus::ALL.to_vec(),
        };
        let selected: Vec<EnrollmentStatus> = candidates
            .into_iter()
            .filter(|s| unpaid.is_none_or(|unpaid| EnrollmentStatus::UNPAID.contains(s) == unpaid))
            .collect();
        (!selected.is_empty()).then_some(selected)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workshop {
    pub id: WorkshopId,
    pub name: String,
    pub description: Option<String>,
    /// The interest this workshop belongs to; enrolling adds it to the client's interests.
    pub category_id: InterestId,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub modality: Modality,
    /// For `in_person` workshops.
    pub location: Option<String>,
    /// For `online` workshops.
    pub link: Option<String>,
    pub price: Money,
    pub capacity: i32,
    /// Live (not cancelled) enrollments.
    pub seats_taken: i32,
    /// `capacity - seats_taken`.
    pub seats_available: i32,
    /// Customers may cancel their own unpaid enrollment until this many hours before the start.
    pub cancellation_hours: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub workshop_id: WorkshopId,
    pub client_id: ClientId,
    pub status: EnrollmentStatus,
    /// The workshop's price when the client enrolled.
    pub price: Money,
    pub amount_paid: Money,
    /// Refunded of it: credited, so no longer owed.
    pub amount_refunded: Money,
    /// `price - amount_refunded - amount_paid` (zero once cancelled or paid).
    pub balance: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Workshop {
    /// Until when a customer may cancel their own enrollment.
    pub fn cancellable_until(&self) -> DateTime<Utc> {
        self.starts_at - chrono::Duration::hours(i64::from(self.cancellation_hours))
    }
}

/// A customer's enrollment with the workshop it is for (what their own pages show).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnEnrollment {
    pub enrollment: Enrollment,
    pub workshop: Workshop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_unpaid_filters_combine() {
        use EnrollmentStatus::*;
        assert_eq!(EnrollmentFilter::statuses(None, None), Some(vec![]));
        assert_eq!(EnrollmentFilter::statuses(None, Some(true)), Some(vec![PendingPayment, PartiallyPaid]));
        assert_eq!(EnrollmentFilter::statuses(None, Some(false)), Some(vec![Paid, Cancelled]));
        assert_eq!(EnrollmentFilter::statuses(Some(Paid), Some(true)), None);
        assert_eq!(EnrollmentFilter::statuses(Some(Paid), None), Some(vec![Paid]));
    }

    #[test]
    fn payment_status_follows_the_amount_paid() {
        let price = Money::from_cents(10_000);
        assert_eq!(EnrollmentStatus::for_payment(Money::ZERO, price), EnrollmentStatus::PendingPayment);
        assert_eq!(EnrollmentStatus::for_payment(Money::from_cents(1), price), EnrollmentStatus::PartiallyPaid);
        assert_eq!(EnrollmentStatus::for_payment(price, price), EnrollmentStatus::Paid);
    }
}
