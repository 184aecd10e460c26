//! Payments towards orders, enrollments and plan subscriptions, and their refunds.
//!
//! A payment is a saga whose steps are rows (`payment_steps`), so a process that dies at any
//! point leaves a payment that the saga worker finishes or fails after restart:
//!
//! 1. **reserve** — under the subject's row lock, the amount is checked against what is owed
//!    less what processing payments already hold, and the payment is inserted `processing`.
//!    Concurrent payments for one subject serialise on that lock, so together they never
//!    exceed the balance.
//! 2. **charge** — the gateway call, outside any transaction and without a connection; it is
//!    idempotent per payment id, so a resumed saga may repeat it.
//! 3. **apply** — in one transaction with the payment's success: the order is confirmed, the
//!    enrollment paid, the subscription activated. When the subject can no longer take the money
//!    (cancelled meanwhile), the step fails and
//! 4. **compensate** — refunds the captured amount automatically (an automatic refund, with
//!    the reason), and the payment ends `refunded`.
//!
//! Cash and bank transfers are recorded by staff once the money is in: reserve and apply
//! happen in one transaction and the charge is skipped. Whoever drives a saga holds a lease
//! (`lease_until`); the worker claims sagas whose lease ran out with `FOR UPDATE SKIP LOCKED`,
//! so several replicas share the work and none drives a saga another one is driving.

use super::constraints::{conflict, gone, invalid, length, out_of_range, Meaning, Rule};
use super::events::{record, record_for_client};
use super::idempotency::recovery_point;
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use crate::domain::client::PlanStatus;
use crate::domain::events::EventType;
use crate::domain::ids::{own_path, ClientId, EnrollmentId, Located, Nested, PaymentId, RefundId, SubscriptionId};
use crate::domain::money::Money;
use crate::domain::page::{Page, PageRequest};
use crate::domain::payments::{
    period_end, Failure, NewPayment, NewRefund, Payment, PaymentFilter, PaymentStatus, Refund, RefundStatus, Step,
    StepName, StepStatus, Subject, SubscriptionStatus,
};
use crate::domain::workshops::EnrollmentStatus;
use crate::outside::gateway::{ChargeRequest, GatewayFuture, Outcome, PaymentGateway, RefundRequest, Transient};
use crate::store::pg::payments::{self as repo, Payable};
use crate::store::pg::{enrollments, subscriptions, workshops};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::json;
use std::time::Duration;
use tracing::Instrument;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("payments_subject_type_check", Meaning::Invariant),
    Rule::Check("payments_one_subject", Meaning::Invariant),
    Rule::Check("payments_amount_check", out_of_range("amount", "must be more than 0")),
    Rule::Check("payments_refunded_within_amount", Meaning::Invariant),
    Rule::Check("payments_method_check", invalid("method", "invalid", "must be card, bank_transfer, cash or paypal")),
    Rule::Check("payments_token_check", length("token", 1, 100)),
    Rule::Check("payments_description_check", length("description", 0, 500)),
    Rule::Check("payments_status_check", Meaning::Invariant),
    Rule::Check("payments_failure_explained", Meaning::Invariant),
    Rule::foreign_key(
        "payments_order_id_fkey",
        gone("order"),
        Some(conflict("order_has_payments", None, "this order has payments; cancel it instead")),
    ),
    Rule::foreign_key(
        "payments_enrollment_id_fkey",
        gone("enrollment"),
        Some(conflict("enrollment_has_payments", None, "this enrollment has payments")),
    ),
    Rule::foreign_key(
        "payments_subscription_id_fkey",
        gone("subscription"),
        Some(conflict("subscription_has_payments", None, "this subscription has payments")),
    ),
    Rule::foreign_key("payments_client_id_fkey", gone("client"), Some(super::clients::IN_USE)),
    Rule::foreign_key("payment_steps_payment_id_fkey", Meaning::Invariant, None),
    Rule::Check("payment_steps_step_check", Meaning::Invariant),
    Rule::Check("payment_steps_status_check", Meaning::Invariant),
    Rule::Check("refunds_amount_check", out_of_range("amount", "must be more than 0")),
    Rule::Check("refunds_reason_check", length("reason", 1, 500)),
    Rule::Check("refunds_status_check", Meaning::Invariant),
    Rule::Check("refunds_failure_explained", Meaning::Invariant),
    Rule::foreign_key(
        "refunds_payment_id_fkey",
        gone("payment"),
        Some(conflict("payment_has_refunds", None, "this payment has refunds")),
    ),
];

/// The 404 of a payment's subject.
fn subject_not_found(subject: Subject) -> AppError {
    match subject {
        Subject::Order(id) => AppError::not_found(id),
        Subject::Enrollment(id) => AppError::not_found(id),
        Subject::Subscription(id) => AppError::not_found(id),
    }
}

fn lock_subject(conn: &mut PgConnection, subject: Subject) -> AppResult<Payable> {
    repo::lock_payable(conn, subject)?.ok_or_else(|| subject_not_found(subject))
}

// --- Paying -------------------------------------------------------------------------------------

/// Takes a payment. Cash and bank transfers succeed at once; card and PayPal payments are
/// charged through the gateway, waited for up to `PAYMENT_SYNC_WAIT_MS` (not at all when
/// `respond_async`), and returned `processing` if the gateway has not answered by then.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pay(state: &AppState, new: NewPayment, respond_async: bool) -> AppResult<Payment> {
    pay_as(state, new, None, respond_async).await
}

/// A customer pays their own order, enrollment or subscription, with a card or PayPal token (the
/// desk's methods are the staff's). Another client's subject is as if it did not exist.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pay_own(state: &AppState, client: ClientId, new: NewPayment) -> AppResult<Payment> {
    if !new.method.uses_gateway() {
        return Err(AppError::invalid("method", "not_allowed", "pay with `card` or `paypal` and its token"));
    }
    pay_as(state, new, Some(client), false).await
}

async fn pay_as(state: &AppState, new: NewPayment, payer: Option<ClientId>, respond_async: bool) -> AppResult<Payment> {
    check_token(state.gateway.as_ref(), &new)?;
    let now = clock::now();
    let lease_until = now + state.settings.payment_lease;
    let payment = state
        .db
        .tx(move |conn| {
            let payment = reserve(conn, new, payer, now, lease_until)?;
            if payer.is_some() {
                recovery_point(own_path("payments", Some(&payment.id)));
            }
            Ok(payment)
        })
        .await?;
    if payment.status != PaymentStatus::Processing {
        return Ok(payment);
    }
    let id = payment.id;
    // The saga outlives the request if it must; its logs still carry the request's id.
    let saga =
        tokio::spawn(drive_from(state.clone(), id, Some(Next::Charge(charge_request(&payment)?))).in_current_span());
    match wait_for(state, respond_async, saga, id).await {
        Some(done) => Ok(done),
        None if respond_async => Ok(payment),
        None => Ok(get(state, id).await.unwrap_or(payment)),
    }
}

fn check_token(gateway: &dyn PaymentGateway, new: &NewPayment) -> AppResult<()> {
    if new.method.uses_gateway() && !gateway.configured() {
        return Err(AppError::invalid(
            "method",
            "gateway_not_configured",
            "this server has no payment gateway (PAYMENT_GATEWAY): record cash or bank transfers only",
        ));
    }
    match (&new.token, new.method.uses_gateway()) {
        (None, true) => {
            Err(AppError::invalid("token", "required", "card and paypal payments need the gateway's token"))
        }
        (Some(_), false) => {
            Err(AppError::invalid("token", "not_allowed", "only card and paypal payments take a token"))
        }
        (Some(token), true) if !gateway.accepts_token(new.method, token) => {
            Err(AppError::invalid("token", "unknown_token", "the gateway does not know this token"))
        }
        _ => Ok(()),
    }
}

/// Reserve: checks the balance under the subject's lock and records the payment. A payment
/// that needs no gateway is applied in the same transaction.
/// `payer`: the only client whose subject this may be (a customer paying their own).
fn reserve(
    conn: &mut PgConnection,
    new: NewPayment,
    payer: Option<ClientId>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> AppResult<Payment> {
    let payable = lock_subject(conn, new.subject)?;
    if payer.is_some_and(|payer| payer != payable.client_id) {
        return Err(subject_not_found(new.subject));
    }
    let reserved = repo::reserved(conn, new.subject)?;
    if !payable.open {
        let code = match new.subject {
            Subject::Order(_) => "order_closed",
            Subject::Enrollment(_) => "enrollment_cancelled",
            Subject::Subscription(_) => "subscription_cancelled",
        };
        return Err(AppError::conflict_with(
            code,
            None,
            format!("this {} is closed (cancelled or refunded) and takes no payments", new.subject.kind()),
            json!({"subject": {"type": new.subject.kind(), "id": new.subject.id()}}),
        ));
    }
    let owed = payable.total.saturating_sub(payable.paid);
    let balance = owed.saturating_sub(reserved);
    if new.amount > balance {
        return Err(AppError::conflict_with(
            "overpayment",
            Some("amount".into()),
            format!("the balance is {balance}"),
            json!({"balance": balance, "owed": owed, "processing": reserved}),
        ));
    }
    // Card and PayPal payments through this API carry a token (`check_token`); without one,
    // staff recorded money taken outside the gateway (a card terminal at the desk).
    let gateway = new.token.is_some();
    let step = |name, status, attempts| Step {
        name,
        status,
        attempts,
        error: None,
        started_at: (status != StepStatus::Pending).then_some(now),
        finished_at: (status != StepStatus::Pending).then_some(now),
    };
    let payment = Payment {
        id: PaymentId::new(),
        subject: new.subject,
        client_id: payable.client_id,
        amount: new.amount,
        amount_refunded: Money::ZERO,
        method: new.method,
        token: new.token,
        description: new.description,
        status: if gateway { PaymentStatus::Processing } else { PaymentStatus::Succeeded },
        failure: None,
        gateway_reference: None,
        created_at: now,
        updated_at: now,
        completed_at: (!gateway).then_some(now),
        steps: if gateway {
            // The request's own task charges next, under the lease taken here.
            vec![
                step(StepName::Reserve, StepStatus::Succeeded, 1),
                Step { finished_at: None, ..step(StepName::Charge, StepStatus::Running, 0) },
                step(StepName::Apply, StepStatus::Pending, 0),
            ]
        } else {
            vec![
                step(StepName::Reserve, StepStatus::Succeeded, 1),
                step(StepName::Charge, StepStatus::Skipped, 0),
                step(StepName::Apply, StepStatus::Succeeded, 1),
            ]
        },
    };
    repo::insert(conn, &payment, gateway.then_some(lease_until))?;
    recovery_point(payment.id.path());
    if !gateway {
        apply_payment(conn, payment.subject, payable, payment.amount, now)?;
        record(conn, EventType::PaymentSucceeded, &payment)?;
    }
    Ok(payment)
}

/// Records money staff took outside the gateway (no token): reserved and applied in the
/// caller's transaction.
pub(crate) fn record_in(conn: &mut PgConnection, new: NewPayment, now: DateTime<Utc>) -> AppResult<Payment> {
    if new.token.is_some() {
        return Err(AppError::Internal(anyhow::anyhow!("a payment with a token must go through the gateway")));
    }
    reserve(conn, new, None, now, now)
}

/// Records a payment towards an enrollment taken at the desk (`POST /enrollments/{id}/payments`)
/// and returns the enrollment as it now stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_for_enrollment(
    state: &AppState,
    id: EnrollmentId,
    amount: Money,
    method: crate::domain::orders::PaymentMethod,
) -> AppResult<crate::domain::workshops::Enrollment> {
    let now = clock::now();
    let new = NewPayment { subject: Subject::Enrollment(id), amount, method, token: None, description: None };
    state
        .db
        .tx(move |conn| {
            record_in(conn, new, now)?;
            enrollments::find(conn, id)?.found(id)
        })
        .await
}

/// Waits for a saga running on a task of its own (a caller who hangs up does not stop it) up
/// to `PAYMENT_SYNC_WAIT_MS`, not at all when `respond_async`. `None` when it has not finished
/// by then, or stopped (an outage): once money is reserved the caller always gets the record,
/// as it stands, and the worker finishes the saga.
async fn wait_for<T: Send + 'static>(
    state: &AppState,
    respond_async: bool,
    saga: tokio::task::JoinHandle<AppResult<T>>,
    id: impl std::fmt::Display,
) -> Option<T> {
    if respond_async {
        return None;
    }
    match tokio::time::timeout(state.settings.payment_sync_wait, saga).await {
        Ok(Ok(Ok(done))) => Some(done),
        Ok(Ok(Err(err))) => {
            tracing::warn!(%id, error = format!("{err:#}"), "saga stopped; the worker resumes it");
            None
        }
        Ok(Err(panic)) => {
            tracing::error!(%id, error = %panic, "saga task panicked; the worker resumes it");
            None
        }
        Err(_still_running) => None,
    }
}

/// What the saga does next, decided under the payment's lock.
enum Next {
    Done(Payment),
    Charge(ChargeRequest),
    Compensate(RefundId),
}

/// Drives a payment's saga to its end (or until it must wait for the worker), from where its
/// steps say it stands.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn drive(state: AppState, id: PaymentId) -> AppResult<Payment> {
    drive_from(state, id, None).await
}

/// `drive`, starting with `first` when the caller knows the next step (a payment just
/// reserved is charged next: no need to read its steps back).
async fn drive_from(state: AppState, id: PaymentId, mut first: Option<Next>) -> AppResult<Payment> {
    loop {
        let next = match first.take() {
            Some(next) => next,
            None => {
                let now = clock::now();
                let lease_until = now + state.settings.payment_lease;
                state.db.tx(move |conn| advance(conn, id, now, lease_until)).await?
            }
        };
        match next {
            Next::Done(payment) => return Ok(payment),
            Next::Charge(request) => {
                let (outcome, calls) =
                    call_gateway(&state, Lease::Payment(id), |gateway| gateway.charge(request.clone())).await;
                let now = clock::now();
                first = Some(state.db.tx(move |conn| record_charge(conn, id, outcome, calls, now)).await?);
            }
            Next::Compensate(refund) => {
                if drive_refund(state.clone(), refund).await?.status == RefundStatus::Processing {
                    // The gateway could not refund now: the worker tries again later.
                    return get(&state, id).await;
                }
            }
        }
    }
}

fn advance(conn: &mut PgConnection, id: PaymentId, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> AppResult<Next> {
    let payment = repo::lock(conn, id)?.found(id)?;
    if payment.status != PaymentStatus::Processing {
        return Ok(Next::Done(payment));
    }
    repo::lease(conn, id, lease_until)?;
    let status = |name| payment.step(name).map(|step| step.status);
    match (status(StepName::Charge), status(StepName::Apply), status(StepName::Compensate)) {
        (Some(StepStatus::Pending | StepStatus::Running), _, _) => {
            repo::set_step(conn, id, StepName::Charge, StepStatus::Running, None, 0, now)?;
            charge_request(&payment).map(Next::Charge)
        }
        (Some(StepStatus::Succeeded), Some(StepStatus::Pending | StepStatus::Running), _) => {
            apply_captured(conn, &payment, None, now)
        }
        (_, _, Some(StepStatus::Pending | StepStatus::Running)) => {
            let refund = repo::compensation_in_progress(conn, id)?.ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("payment {id} awaits compensation without a refund"))
            })?;
            Ok(Next::Compensate(refund.id))
        }
        steps => Err(AppError::Internal(anyhow::anyhow!("payment {id} is processing with steps {steps:?}"))),
    }
}

fn charge_request(payment: &Payment) -> AppResult<ChargeRequest> {
    let token = payment.token.clone().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("payment {} goes through the gateway but has no token", payment.id))
    })?;
    Ok(ChargeRequest {
        idempotency_key: payment.id.0,
        amount: payment.amount,
        method: payment.method,
        token,
        description: payment.description.clone(),
    })
}

/// Records the gateway's answer to a charge, unless another driver already did (the charge
/// step moves from `running` once), and applies or fails the payment with it.
fn record_charge(
    conn: &mut PgConnection,
    id: PaymentId,
    outcome: Result<Outcome, Transient>,
    calls: i32,
    now: DateTime<Utc>,
) -> AppResult<Next> {
    let payment = repo::lock_row(conn, id)?.found(id)?;
    let (status, failure, reference) = match outcome {
        Ok(Outcome::Succeeded { reference }) => (StepStatus::Succeeded, None, Some(reference)),
        Ok(Outcome::Declined(failure)) => (StepStatus::Failed, Some(failure), None),
        Err(transient) => {
            (StepStatus::Failed, Some(Failure { code: transient.code, message: transient.message }), None)
        }
    };
    let error = failure.as_ref().map(|f| f.message.as_str());
    if payment.status != PaymentStatus::Processing
        || !repo::end_running_step(conn, id, StepName::Charge, status, error, calls, now)?
    {
        return Ok(Next::Done(repo::find(conn, id)?.found(id)?));
    }
    match (failure, reference) {
        (None, Some(reference)) => apply_captured(conn, &payment, Some(&reference), now),
        (Some(failure), _) => {
            repo::set_step(conn, id, StepName::Apply, StepStatus::Skipped, None, 0, now)?;
            repo::finish(conn, id, PaymentStatus::Failed, Some(&failure), None, now)?;
            if let Subject::Subscription(subscription) = payment.subject {
                subscription_payment_failed(conn, subscription, now)?;
            }
            let failed = repo::find(conn, id)?.found(id)?;
            record(conn, EventType::PaymentFailed, &failed)?;
            Ok(Next::Done(failed))
        }
        (None, None) => Err(AppError::Internal(anyhow::anyhow!("a charge succeeded without a reference"))),
    }
}

/// Apply: the captured money goes to the subject in the transaction that marks the payment
/// succeeded; a subject that can no longer take it gets the money refunded instead.
/// `reference` is the charge's, when it is recorded in the same transaction.
fn apply_captured(
    conn: &mut PgConnection,
    payment: &Payment,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Next> {
    let payable = lock_subject(conn, payment.subject)?;
    let owed = payable.total.saturating_sub(payable.paid);
    if payable.open && payment.amount <= owed {
        apply_payment(conn, payment.subject, payable, payment.amount, now)?;
        repo::set_step(conn, payment.id, StepName::Apply, StepStatus::Succeeded, None, 1, now)?;
        repo::finish(conn, payment.id, PaymentStatus::Succeeded, None, reference, now)?;
        let succeeded = repo::find(conn, payment.id)?.found(payment.id)?;
        record(conn, EventType::PaymentSucceeded, &succeeded)?;
        return Ok(Next::Done(succeeded));
    }
    if let Some(reference) = reference {
        repo::set_gateway_reference(conn, payment.id, reference)?;
    }
    let reason = if payable.open {
        format!("the {} no longer owes {}", payment.subject.kind(), payment.amount)
    } else {
        format!("the {} was cancelled before the payment completed", payment.subject.kind())
    };
    repo::set_step(conn, payment.id, StepName::Apply, StepStatus::Failed, Some(&reason), 1, now)?;
    repo::set_step(conn, payment.id, StepName::Compensate, StepStatus::Pending, None, 0, now)?;
    let refund = Refund {
        id: RefundId::new(),
        payment_id: payment.id,
        amount: payment.amount,
        reason,
        automatic: true,
        status: RefundStatus::Processing,
        failure: None,
        gateway_reference: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    repo::insert_refund(conn, &refund, None)?;
    record_for_client(conn, EventType::RefundCreated, &refund, payment.client_id)?;
    repo::add_refunded(conn, payment.id, payment.amount.amount(), PaymentStatus::Processing, now)?;
    Ok(Next::Compensate(refund.id))
}

/// Calls the gateway, retrying transient errors with doubling backoff; returns the last answer
/// and how many calls were made. A call that takes longer than `GATEWAY_TIMEOUT_MS` counts as a
/// transient error; the saga's lease is renewed before each retry, so it outlives every call.
async fn call_gateway<F>(state: &AppState, lease: Lease, call: F) -> (Result<Outcome, Transient>, i32)
where
    F: for<'g> Fn(&'g dyn PaymentGateway) -> GatewayFuture<'g>,
{
    let attempts = state.settings.gateway_attempts.max(1);
    let mut backoff = Duration::from_millis(200);
    let mut calls = 0;
    loop {
        calls += 1;
        if calls > 1 {
            let until = clock::now() + state.settings.payment_lease;
            if let Err(err) = state.db.run(move |conn| Ok(lease.renew(conn, until)?)).await {
                tracing::warn!(error = format!("{err:#}"), "could not renew a saga's lease before a retry");
            }
        }
        let answer = match tokio::time::timeout(state.settings.gateway_timeout, call(state.gateway.as_ref())).await {
            Ok(answer) => answer,
            Err(_) => {
                Err(Transient { code: "gateway_timeout".into(), message: "the gateway did not answer in time".into() })
            }
        };
        match answer {
            Err(transient) if calls < attempts as i32 => {
                tracing::info!(attempt = calls, error = %transient, "transient gateway error; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            answer => return (answer, calls),
        }
    }
}

/// The saga whose lease a gateway call renews.
#[derive(Debug, Clone, Copy)]
enum Lease {
    Payment(PaymentId),
    Refund(RefundId),
}

impl Lease {
    fn renew(self, conn: &mut PgConnection, until: DateTime<Utc>) -> diesel::QueryResult<()> {
        match self {
            Lease::Payment(id) => repo::lease(conn, id, until),
            Lease::Refund(id) => repo::lease_refund(conn, id, until),
        }
    }
}

// --- Effects on the subject ---------------------------------------------------------------------

/// The money reaches the subject: the order is confirmed once paid in full, the enrollment's
/// status follows its amount paid, the subscription becomes active once paid.
fn apply_payment(
    conn: &mut PgConnection,
    subject: Subject,
    payable: Payable,
    amount: Money,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let paid = payable.paid + amount;
    match subject {
        Subject::Order(id) => {
            super::orders::record_paid(conn, id, payable.order_status, paid, paid == payable.total, now)?
        }
        Subject::Enrollment(id) => {
            let status = EnrollmentStatus::for_payment(paid, payable.total);
            let enrollment = enrollments::set_paid(conn, id, paid, Money::ZERO, status, now)?;
            if status == EnrollmentStatus::Paid {
                record(conn, EventType::EnrollmentPaid, &enrollment)?;
            }
        }
        Subject::Subscription(id) => subscription_paid(conn, id, paid, payable.total, now)?,
    }
    Ok(())
}

/// Money goes back from the subject: refunded in full, an order not yet shipped is cancelled
/// (stock and coupon back) and a shipped one becomes `refunded`; an enrollment is cancelled and
/// its seat released; a subscription is cancelled.
fn apply_refund(conn: &mut PgConnection, subject: Subject, amount: Money, now: DateTime<Utc>) -> AppResult<()> {
    let payable = lock_subject(conn, subject)?;
    let paid = payable.paid.saturating_sub(amount);
    let in_full = paid.is_zero();
    match subject {
        Subject::Order(id) => super::orders::record_refunded(conn, id, payable.order_status, paid, amount, now)?,
        Subject::Enrollment(id) => refund_enrollment(conn, id, paid, amount, payable, now)?,
        Subject::Subscription(id) => {
            let subscription = subscriptions::find_subscription(conn, id)?.found(id)?;
            let status = if in_full && payable.open { SubscriptionStatus::Cancelled } else { subscription.status };
            subscriptions::update_subscription(conn, id, paid, amount, status, subscription.paid_until, now)?;
            if status == SubscriptionStatus::Cancelled && subscription.status != SubscriptionStatus::Cancelled {
                subscriptions::set_client_plan(
                    conn,
                    subscription.client_id,
                    subscription.plan,
                    PlanStatus::Cancelled,
                    None,
                    now,
                )?;
            }
        }
    }
    Ok(())
}

fn refund_enrollment(
    conn: &mut PgConnection,
    id: EnrollmentId,
    paid: Money,
    refunded: Money,
    payable: Payable,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if !payable.open {
        enrollments::set_paid(conn, id, paid, refunded, EnrollmentStatus::Cancelled, now)?;
    } else if paid.is_zero() {
        enrollments::set_paid(conn, id, paid, refunded, EnrollmentStatus::Cancelled, now)?;
        let cancelled = enrollments::cancel(conn, id, now)?;
        workshops::release_seat(conn, id)?;
        record(conn, EventType::EnrollmentCancelled, &cancelled)?;
    } else {
        // What is credited is no longer owed: the refund leaves the rest paid for.
        let due = payable.total.saturating_sub(refunded);
        enrollments::set_paid(conn, id, paid, refunded, EnrollmentStatus::for_payment(paid, due), now)?;
    }
    Ok(())
}

/// A subscription paid in full starts (or extends) the client's paid period on its plan.
fn subscription_paid(
    conn: &mut PgConnection,
    id: SubscriptionId,
    paid: Money,
    amount: Money,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let subscription = subscriptions::find_subscription(conn, id)?.found(id)?;
    if paid < amount {
        subscriptions::update_subscription(
            conn,
            id,
            paid,
            Money::ZERO,
            subscription.status,
            subscription.paid_until,
            now,
        )?;
        return Ok(());
    }
    let current_end = subscriptions::client_paid_until(conn, subscription.client_id)?;
    let paid_until = period_end(now, current_end, subscription.months.unsigned_abs());
    subscriptions::update_subscription(conn, id, paid, Money::ZERO, SubscriptionStatus::Active, Some(paid_until), now)?;
    subscriptions::set_client_plan(
        conn,
        subscription.client_id,
        subscription.plan,
        PlanStatus::Active,
        Some(paid_until),
        now,
    )?;
    let activated = subscriptions::find_subscription(conn, id)?.found(id)?;
    record(conn, EventType::SubscriptionActivated, &activated)?;
    Ok(())
}

/// A failed payment leaves an unpaid subscription (and its client's plan) `past_due`.
fn subscription_payment_failed(conn: &mut PgConnection, id: SubscriptionId, now: DateTime<Utc>) -> AppResult<()> {
    let subscription = subscriptions::find_subscription(conn, id)?.found(id)?;
    if subscription.status != SubscriptionStatus::PendingPayment {
        return Ok(());
    }
    subscriptions::update_subscription(
        conn,
        id,
        subscription.amount_paid,
        Money::ZERO,
        SubscriptionStatus::PastDue,
        None,
        now,
    )?;
    let current_end = subscriptions::client_paid_until(conn, subscription.client_id)?;
    if current_end.is_none_or(|end| end <= now) {
        subscriptions::set_client_plan(
            conn,
            subscription.client_id,
            subscription.plan,
            PlanStatus::PastDue,
            current_end,
            now,
        )?;
    }
    let past_due = subscriptions::find_subscription(conn, id)?.found(id)?;
    record(conn, EventType::SubscriptionPastDue, &past_due)?;
    Ok(())
}

// --- Refunds ------------------------------------------------------------------------------------

/// Refunds (part of) a succeeded payment, never more than it still holds: the payment's row
/// lock serialises refunds, and a refund in progress already counts. Cash and bank-transfer
/// refunds are recorded as paid out; card and PayPal refunds go through the gateway like
/// payments (201 when done in time, else `processing`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refund(state: &AppState, id: PaymentId, new: NewRefund, respond_async: bool) -> AppResult<Refund> {
    let now = clock::now();
    let lease_until = now + state.settings.payment_lease;
    let refund = state.db.tx(move |conn| open_refund(conn, id, new, now, lease_until)).await?;
    if refund.status != RefundStatus::Processing {
        return Ok(refund);
    }
    let refund_id = refund.id;
    let saga = tokio::spawn(drive_refund(state.clone(), refund_id).in_current_span());
    match wait_for(state, respond_async, saga, refund_id).await {
        Some(done) => Ok(done),
        None if respond_async => Ok(refund),
        None => Ok(get_refund(state, refund_id).await.unwrap_or(refund)),
    }
}

fn open_refund(
    conn: &mut PgConnection,
    id: PaymentId,
    new: NewRefund,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> AppResult<Refund> {
    let payment = repo::lock(conn, id)?.found(id)?;
    if payment.status != PaymentStatus::Succeeded {
        return Err(AppError::conflict_with(
            "payment_not_refundable",
            None,
            format!("a {} payment cannot be refunded", payment.status),
            json!({"status": payment.status}),
        ));
    }
    let refundable = payment.refundable();
    let amount = new.amount.unwrap_or(refundable);
    if amount.is_zero() || amount > refundable {
        return Err(AppError::conflict_with(
            "refund_exceeds_payment",
            Some("amount".into()),
            format!("at most {refundable} of this payment can be refunded"),
            json!({"refundable": refundable}),
        ));
    }
    // Money that came through the gateway goes back through it; money staff recorded is paid
    // back by staff.
    let gateway = payment.gateway_reference.is_some();
    let refund = Refund {
        id: RefundId::new(),
        payment_id: id,
        amount,
        reason: new.reason,
        automatic: false,
        status: if gateway { RefundStatus::Processing } else { RefundStatus::Succeeded },
        failure: None,
        gateway_reference: None,
        created_at: now,
        updated_at: now,
        completed_at: (!gateway).then_some(now),
    };
    repo::insert_refund(conn, &refund, gateway.then_some(lease_until))?;
    recovery_point(refund.id.path(id));
    record_for_client(conn, EventType::RefundCreated, &refund, payment.client_id)?;
    let in_full = payment.amount_refunded + amount == payment.amount;
    let status = if in_full && !gateway { PaymentStatus::Refunded } else { PaymentStatus::Succeeded };
    repo::add_refunded(conn, id, amount.amount(), status, now)?;
    if !gateway {
        // Paid back by staff: the refund is done as it is recorded.
        record_for_client(conn, EventType::RefundSucceeded, &refund, payment.client_id)?;
        announce_refunded(conn, id, status)?;
        apply_refund(conn, payment.subject, amount, now)?;
    }
    Ok(refund)
}

/// `payment.refunded` once a payment has been given back in full.
fn announce_refunded(conn: &mut PgConnection, id: PaymentId, status: PaymentStatus) -> AppResult<()> {
    if status == PaymentStatus::Refunded {
        let refunded = repo::find(conn, id)?.found(id)?;
        record(conn, EventType::PaymentRefunded, &refunded)?;
    }
    Ok(())
}

/// Drives a refund through the gateway and records the answer; a transient failure leaves it
/// `processing` for the worker.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn drive_refund(state: AppState, id: RefundId) -> AppResult<Refund> {
    let now = clock::now();
    let lease_until = now + state.settings.payment_lease;
    let (refund, request) = state
        .db
        .tx(move |conn| {
            let refund = repo::lock_refund(conn, id)?.found(id)?;
            if refund.status != RefundStatus::Processing {
                return Ok((refund, None));
            }
            let payment = repo::find(conn, refund.payment_id)?.found(refund.payment_id)?;
            let charge = payment.gateway_reference.clone().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("refund {id} is for payment {} that was never charged", payment.id))
            })?;
            repo::lease_refund(conn, id, lease_until)?;
            let request = RefundRequest { idempotency_key: id.0, charge, amount: refund.amount };
            Ok((refund, Some(request)))
        })
        .await?;
    let Some(request) = request else {
        return Ok(refund);
    };
    let (outcome, _calls) = call_gateway(&state, Lease::Refund(id), |gateway| gateway.refund(request.clone())).await;
    let now = clock::now();
    state.db.tx(move |conn| record_refund(conn, id, outcome, now)).await
}

fn record_refund(
    conn: &mut PgConnection,
    id: RefundId,
    outcome: Result<Outcome, Transient>,
    now: DateTime<Utc>,
) -> AppResult<Refund> {
    let current = repo::find_refund(conn, id)?.found(id)?;
    // The payment's lock first, as everywhere else, then the refund's.
    let payment = repo::lock(conn, current.payment_id)?.found(current.payment_id)?;
    let refund = repo::lock_refund(conn, id)?.found(id)?;
    if refund.status != RefundStatus::Processing {
        return Ok(refund);
    }
    match outcome {
        Ok(Outcome::Succeeded { reference }) => {
            let done = repo::finish_refund(conn, id, RefundStatus::Succeeded, Some(&reference), None, now)?;
            record_for_client(conn, EventType::RefundSucceeded, &done, payment.client_id)?;
            if refund.automatic {
                repo::set_step(conn, payment.id, StepName::Compensate, StepStatus::Succeeded, None, 1, now)?;
                let why = Failure { code: "subject_unavailable".into(), message: refund.reason.clone() };
                repo::finish(conn, payment.id, PaymentStatus::Refunded, Some(&why), None, now)?;
                announce_refunded(conn, payment.id, PaymentStatus::Refunded)?;
            } else {
                let in_full = payment.amount_refunded == payment.amount;
                let status = if in_full { PaymentStatus::Refunded } else { PaymentStatus::Succeeded };
                repo::add_refunded(conn, payment.id, rust_decimal::Decimal::ZERO, status, now)?;
                announce_refunded(conn, payment.id, status)?;
                apply_refund(conn, payment.subject, refund.amount, now)?;
            }
            Ok(done)
        }
        Ok(Outcome::Declined(failure)) => {
            let done = repo::finish_refund(conn, id, RefundStatus::Failed, None, Some(&failure), now)?;
            record_for_client(conn, EventType::RefundFailed, &done, payment.client_id)?;
            repo::add_refunded(conn, payment.id, -refund.amount.amount(), payment.status, now)?;
            if refund.automatic {
                // The money was taken and cannot be given back through the gateway: the
                // payment fails loudly so that staff refund it by hand.
                repo::set_step(
                    conn,
                    payment.id,
                    StepName::Compensate,
                    StepStatus::Failed,
                    Some(&failure.message),
                    1,
                    now,
                )?;
                let why = Failure {
                    code: "refund_failed".into(),
                    message: format!(
                        "{}; the automatic refund failed ({}): refund by hand",
                        refund.reason, failure.message
                    ),
                };
                repo::finish(conn, payment.id, PaymentStatus::Failed, Some(&why), None, now)?;
                let failed = repo::find(conn, payment.id)?.found(payment.id)?;
                record(conn, EventType::PaymentFailed, &failed)?;
                tracing::error!(payment = %payment.id, refund = %id, "automatic refund declined by the gateway");
            }
            Ok(done)
        }
        Err(transient) => {
            tracing::warn!(refund = %id, error = %transient, "refund not done; the worker retries it");
            Ok(refund)
        }
    }
}

// --- Reads --------------------------------------------------------------------------------------

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: PaymentId) -> AppResult<Payment> {
    state.db.read(move |conn| repo::find(conn, id)?.found(id)).await
}

impl Keyed for Payment {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// A customer's own payment; another client's is as if it did not exist.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_own(state: &AppState, client: ClientId, id: PaymentId) -> AppResult<Payment> {
    state.db.read(move |conn| repo::find(conn, id)?.filter(|p| p.client_id == client).found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, filter: PaymentFilter, page: PageRequest) -> AppResult<Page<Payment>> {
    id_page(state, page, move |conn, before, limit| Ok(repo::list(conn, &filter, before, limit)?)).await
}

/// A subject's payments, oldest first (one snapshot with the existence check).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn of_subject(state: &AppState, subject: Subject, page: PageRequest) -> AppResult<Page<Payment>> {
    id_page(state, page, move |conn, after, limit| {
        if !repo::subject_exists(conn, subject)? {
            return Err(subject_not_found(subject));
        }
        Ok(repo::of_subject(conn, subject, after, limit)?)
    })
    .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_refund(state: &AppState, id: RefundId) -> AppResult<Refund> {
    state.db.read(move |conn| repo::find_refund(conn, id)?.found(id)).await
}

/// A payment's refunds, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refunds(state: &AppState, id: PaymentId, page: PageRequest) -> AppResult<Page<Refund>> {
    id_page(state, page, move |conn, after, limit| {
        repo::find(conn, id)?.found(id)?;
        Ok(repo::refunds_of(conn, id, after, limit)?)
    })
    .await
}

impl Keyed for Refund {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

// --- The worker ---------------------------------------------------------------------------------

/// Claims payments and refunds whose driver's lease ran out (a killed or restarted server) and
/// drives each to its end. Returns how many it claimed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn resume_stalled(state: &AppState) -> AppResult<usize> {
    let now = clock::now();
    let until = now + state.settings.payment_lease;
    let (payments, refunds) = state
        .db
        .tx(move |conn| {
            Ok((repo::claim_stalled(conn, now, until, 50)?, repo::claim_stalled_refunds(conn, now, until, 50)?))
        })
        .await?;
    let claimed = payments.len() + refunds.len();
    for id in payments {
        tracing::info!(payment = %id, "resuming a stalled payment");
        if let Err(err) = drive(state.clone(), id).await {
            tracing::warn!(payment = %id, error = format!("{err:#}"), "resumed payment stopped again");
        }
    }
    for id in refunds {
        tracing::info!(refund = %id, "resuming a stalled refund");
        if let Err(err) = drive_refund(state.clone(), id).await {
            tracing::warn!(refund = %id, error = format!("{err:#}"), "resumed refund stopped again");
        }
    }
    Ok(claimed)
}
