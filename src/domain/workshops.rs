//! Workshop and enrollment rules.

use crate::domain::ids::{ClientId, EnrollmentId, InterestId, OrderId, PaymentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::{OrderStatus, PaymentMethod};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

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

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Workshop {
    pub id: WorkshopId,
    #[schema(example = "Hand-cut dovetails")]
    pub name: String,
    pub description: Option<String>,
    /// The interest this workshop belongs to; enrolling adds it to the client's interests.
    pub category_id: InterestId,
    pub starts_at: DateTime<Utc>,
    #[schema(example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    /// For `in_person` workshops.
    #[schema(example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    /// For `online` workshops.
    pub link: Option<String>,
    pub price: Money,
    #[schema(example = 12)]
    pub capacity: i32,
    /// Live (not cancelled) enrollments.
    #[schema(example = 9)]
    pub seats_taken: i32,
    /// `capacity - seats_taken`.
    #[schema(example = 3)]
    pub seats_available: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub workshop_id: WorkshopId,
    pub client_id: ClientId,
    pub status: EnrollmentStatus,
    /// The workshop's price when the client enrolled.
    pub price: Money,
    pub amount_paid: Money,
    /// `price - amount_paid` (zero once cancelled or paid).
    pub balance: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Payment {
    pub id: PaymentId,
    pub enrollment_id: EnrollmentId,
    pub amount: Money,
    pub method: PaymentMethod,
    pub created_at: DateTime<Utc>,
}

/// The client's commerce at a glance, for the complete client view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ClientActivity {
    /// All orders, cancelled ones included.
    pub order_count: i64,
    /// Sum of the totals of orders that are not cancelled.
    pub total_spent: Money,
    pub last_order: Option<OrderSummary>,
    /// Live enrollments in workshops that have not started, soonest first.
    pub upcoming_workshops: Vec<EnrollmentSummary>,
    /// Enrollments not fully paid (the client's debts), oldest first.
    pub unpaid_enrollments: Vec<EnrollmentSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EnrollmentSummary {
    pub enrollment_id: EnrollmentId,
    pub workshop_id: WorkshopId,
    pub workshop_name: String,
    pub starts_at: DateTime<Utc>,
    pub status: EnrollmentStatus,
    pub balance: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_status_follows_the_amount_paid() {
        let price = Money::from_cents(10_000);
        assert_eq!(EnrollmentStatus::for_payment(Money::ZERO, price), EnrollmentStatus::PendingPayment);
        assert_eq!(EnrollmentStatus::for_payment(Money::from_cents(1), price), EnrollmentStatus::PartiallyPaid);
        assert_eq!(EnrollmentStatus::for_payment(price, price), EnrollmentStatus::Paid);
    }
}
