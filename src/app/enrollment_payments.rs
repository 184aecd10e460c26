//! Payments towards enrollments: each recorded under the enrollment's row lock, so concurrent
//! payments never exceed the price, and the enrollment's status follows the amount paid.

use super::{clock, AppError, AppResult, AppState, Found};
use crate::domain::ids::{EnrollmentId, PaymentId};
use crate::domain::workshops::{Enrollment, EnrollmentStatus, NewPayment, Payment};
use crate::store::pg::enrollments as repo;
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::json;

/// Records a payment under the enrollment's row lock; the status follows the amount paid.
pub async fn pay(state: &AppState, id: EnrollmentId, payment: NewPayment) -> AppResult<Enrollment> {
    let now = clock::now();
    state.db.tx(move |conn| pay_in(conn, id, payment, now)).await
}

pub(crate) fn pay_in(
    conn: &mut PgConnection,
    id: EnrollmentId,
    payment: NewPayment,
    now: DateTime<Utc>,
) -> AppResult<Enrollment> {
    let enrollment = repo::lock(conn, id)?.found(id)?;
    if enrollment.status == EnrollmentStatus::Cancelled {
        return Err(AppError::conflict("enrollment_cancelled", None, "this enrollment is cancelled"));
    }
    if payment.amount > enrollment.balance {
        return Err(AppError::conflict_with(
            "overpayment",
            Some("amount".into()),
            format!("the balance is {}", enrollment.balance),
            json!({"balance": enrollment.balance}),
        ));
    }
    let paid = enrollment.amount_paid + payment.amount;
    let record = Payment {
        id: PaymentId::new(),
        enrollment_id: id,
        amount: payment.amount,
        method: payment.method,
        created_at: now,
    };
    let status = EnrollmentStatus::for_payment(paid, enrollment.price);
    Ok(repo::record_payment(conn, &record, paid, status)?)
}

/// An enrollment's payments, oldest first (one snapshot with the existence check).
pub async fn payments(state: &AppState, id: EnrollmentId) -> AppResult<Vec<Payment>> {
    state
        .db
        .read(move |conn| {
            repo::find(conn, id)?.found(id)?;
            Ok(repo::payments(conn, id)?)
        })
        .await
}
