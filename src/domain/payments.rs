//! The payments ledger: payments towards an order, an enrollment or a plan subscription, the
//! steps of each payment's saga, refunds, plans and subscriptions.

use crate::domain::client::Plan;
use crate::domain::ids::{ClientId, EnrollmentId, OrderId, PaymentId, RefundId, SubscriptionId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use chrono::{DateTime, Months, Utc};
use uuid::Uuid;

text_enum!(
    /// What a payment pays for.
    SubjectType { Order => "order", Enrollment => "enrollment", Subscription => "subscription" }
);
text_enum!(
    /// `processing` until the gateway answered and the effect applied; `refunded` once refunds
    /// returned the whole amount.
    PaymentStatus { Processing => "processing", Succeeded => "succeeded", Failed => "failed", Refunded => "refunded" }
);
text_enum!(
    /// The saga's steps, in order: reserve the amount against the subject, charge the gateway,
    /// apply the effect to the subject; compensate (refund) when the subject could no longer
    /// take the money once the gateway had taken it.
    StepName { Reserve => "reserve", Charge => "charge", Apply => "apply", Compensate => "compensate" }
);
text_enum!(
    StepStatus { Pending => "pending", Running => "running", Succeeded => "succeeded", Failed => "failed", Skipped => "skipped" }
);
text_enum!(
    RefundStatus { Processing => "processing", Succeeded => "succeeded", Failed => "failed" }
);
text_enum!(
    /// Where a subscription's billing stands.
    SubscriptionStatus {
        PendingPayment => "pending_payment",
        Active => "active",
        PastDue => "past_due",
        Cancelled => "cancelled",
    }
);

/// What a payment pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Order(OrderId),
    Enrollment(EnrollmentId),
    Subscription(SubscriptionId),
}

impl Subject {
    pub fn new(kind: SubjectType, id: Uuid) -> Self {
        match kind {
            SubjectType::Order => Subject::Order(OrderId(id)),
            SubjectType::Enrollment => Subject::Enrollment(EnrollmentId(id)),
            SubjectType::Subscription => Subject::Subscription(SubscriptionId(id)),
        }
    }

    pub fn kind(self) -> SubjectType {
        match self {
            Subject::Order(_) => SubjectType::Order,
            Subject::Enrollment(_) => SubjectType::Enrollment,
            Subject::Subscription(_) => SubjectType::Subscription,
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Subject::Order(id) => id.0,
            Subject::Enrollment(id) => id.0,
            Subject::Subscription(id) => id.0,
        }
    }
}

impl PaymentMethod {
    /// Card and PayPal payments go through the gateway; cash and bank transfers are recorded by
    /// staff once the money is in, so they succeed at once.
    pub fn uses_gateway(self) -> bool {
        matches!(self, PaymentMethod::Card | PaymentMethod::Paypal)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub subject: Subject,
    pub amount: Money,
    pub method: PaymentMethod,
    /// The gateway's token for `card` and `paypal`.
    pub token: Option<String>,
    pub description: Option<String>,
}

/// Why a payment failed, in the gateway's terms (`card_declined`, `insufficient_funds`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: StepName,
    pub status: StepStatus,
    pub attempts: i32,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub id: PaymentId,
    pub subject: Subject,
    pub client_id: ClientId,
    pub amount: Money,
    /// Refunds made or in progress.
    pub amount_refunded: Money,
    pub method: PaymentMethod,
    pub token: Option<String>,
    pub description: Option<String>,
    pub status: PaymentStatus,
    pub failure: Option<Failure>,
    pub gateway_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The saga's steps in order (empty for payments recorded before the ledger existed).
    pub steps: Vec<Step>,
}

impl Payment {
    /// What refunds can still return.
    pub fn refundable(&self) -> Money {
        match self.status {
            PaymentStatus::Succeeded => self.amount.saturating_sub(self.amount_refunded),
            _ => Money::ZERO,
        }
    }

    pub fn step(&self, name: StepName) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaymentFilter {
    pub subject_id: Option<Uuid>,
    pub client_id: Option<ClientId>,
    pub status: Option<PaymentStatus>,
    pub method: Option<PaymentMethod>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// `None`: everything the payment still holds.
    pub amount: Option<Money>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub reason: String,
    /// Made by the payment saga (the subject could no longer take the money), not by a person.
    pub automatic: bool,
    pub status: RefundStatus,
    pub failure: Option<Failure>,
    pub gateway_reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A plan clients subscribe to; the prices are data.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOffer {
    pub code: Plan,
    pub name: String,
    pub description: Option<String>,
    pub monthly_price: Money,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub client_id: ClientId,
    pub plan: Plan,
    pub months: i32,
    pub monthly_price: Money,
    pub amount: Money,
    pub amount_paid: Money,
    /// Refunded of it: credited, so no longer owed.
    pub amount_refunded: Money,
    pub status: SubscriptionStatus,
    /// Set when paid: the end of the period the payment bought.
    pub paid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Subscription {
    pub fn amount_due(&self) -> Money {
        if self.status == SubscriptionStatus::Cancelled {
            return Money::ZERO;
        }
        self.amount.saturating_sub(self.amount_refunded).saturating_sub(self.amount_paid)
    }
}

/// The end of a period of `months` bought now: it extends a period still running, so paying
/// early never loses days.
pub fn period_end(now: DateTime<Utc>, current_end: Option<DateTime<Utc>>, months: u32) -> DateTime<Utc> {
    let start = current_end.filter(|end| *end > now).unwrap_or(now);
    start.checked_add_months(Months::new(months)).unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_subject_round_trips_through_its_kind_and_id() {
        let id = Uuid::now_v7();
        for kind in SubjectType::ALL {
            let subject = Subject::new(*kind, id);
            assert_eq!((subject.kind(), subject.id()), (*kind, id));
        }
    }

    #[test]
    fn only_card_and_paypal_use_the_gateway() {
        assert!(PaymentMethod::Card.uses_gateway());
        assert!(PaymentMethod::Paypal.uses_gateway());
        assert!(!PaymentMethod::Cash.uses_gateway());
        assert!(!PaymentMethod::BankTransfer.uses_gateway());
    }

    #[test]
    fn paying_early_extends_the_running_period() {
        let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
        assert_eq!(period_end(now, None, 1), Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap());
        let running = Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).unwrap();
        assert_eq!(period_end(now, Some(running), 2), Utc.with_ymd_and_hms(2026, 5, 15, 0, 0, 0).unwrap());
        let lapsed = Utc.with_ymd_and_hms(2025, 3, 15, 0, 0, 0).unwrap();
        assert_eq!(period_end(now, Some(lapsed), 12), Utc.with_ymd_and_hms(2027, 1, 31, 12, 0, 0).unwrap());
    }
}
