//! Repository functions for the payments ledger: `payments`, `payment_steps` and `refunds`, and
//! the "payable" facts of each kind of subject; the rows follow them.

use super::parse_text;
use super::schema::{enrollments, orders, payment_steps, payments, refunds, subscriptions};
use crate::domain::ids::{ClientId, PaymentId, RefundId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::SubjectType;
use crate::domain::payments::{
    Failure, Payment, PaymentFilter, PaymentStatus, Refund, RefundStatus, Step, StepName, StepStatus, Subject,
    SubscriptionStatus,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, payment: &Payment, lease_until: Option<DateTime<Utc>>) -> QueryResult<()> {
    diesel::insert_into(payments::table).values(PaymentRow::new(payment, lease_until)).execute(conn)?;
    let steps: Vec<StepRow> = payment.steps.iter().map(|step| StepRow::new(payment.id.0, step)).collect();
    diesel::insert_into(payment_steps::table).values(&steps).execute(conn)?;
    Ok(())
}

/// The payment with its steps (two statements: read it in a snapshot or under the lock).
pub fn find(conn: &mut PgConnection, id: PaymentId) -> QueryResult<Option<Payment>> {
    let row = payments::table.find(id.0).select(PaymentRow::as_select()).first(conn).optional()?;
    Ok(with_steps(conn, row.into_iter().collect())?.pop())
}

/// The payment without its steps, row-locked.
pub fn lock_row(conn: &mut PgConnection, id: PaymentId) -> QueryResult<Option<Payment>> {
    payments::table
        .find(id.0)
        .select(PaymentRow::as_select())
        .for_update()
        .first::<PaymentRow>(conn)
        .optional()?
        .map(|row| row.into_domain(Vec::new()))
        .transpose()
}

/// The payment, row-locked: its saga steps and refunds happen one at a time.
pub fn lock(conn: &mut PgConnection, id: PaymentId) -> QueryResult<Option<Payment>> {
    let row = payments::table.find(id.0).select(PaymentRow::as_select()).for_update().first(conn).optional()?;
    Ok(with_steps(conn, row.into_iter().collect())?.pop())
}

/// Payments newest first (UUIDv7 ids) before `before`.
pub fn list(
    conn: &mut PgConnection,
    filter: &PaymentFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Payment>> {
    let mut query =
        payments::table.select(PaymentRow::as_select()).order(payments::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(payments::id.lt(before));
    }
    if let Some(subject) = filter.subject_id {
        query = query.filter(
            payments::order_id
                .eq(subject)
                .or(payments::enrollment_id.eq(subject))
                .or(payments::subscription_id.eq(subject)),
        );
    }
    if let Some(client) = filter.client_id {
        query = query.filter(payments::client_id.eq(client.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(payments::status.eq(status.as_str()));
    }
    if let Some(method) = filter.method {
        query = query.filter(payments::method.eq(method.as_str()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(payments::created_at.ge(from));
    }
    if let Some(until) = filter.created_until {
        query = query.filter(payments::created_at.lt(until));
    }
    let rows = query.load(conn)?;
    with_steps(conn, rows)
}

/// A subject's payments, oldest first.
/// A subject's payments in creation order after `after`, at most `limit`.
pub fn of_subject(
    conn: &mut PgConnection,
    subject: Subject,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Payment>> {
    let rows = payments::table
        .filter(subject_filter(subject))
        .filter(payments::id.gt(after.unwrap_or(Uuid::nil())))
        .select(PaymentRow::as_select())
        .order(payments::id.asc())
        .limit(limit)
        .load(conn)?;
    with_steps(conn, rows)
}

type SubjectFilter = Box<dyn BoxableExpression<payments::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>;

fn subject_filter(subject: Subject) -> SubjectFilter {
    match subject {
        Subject::Order(id) => Box::new(payments::order_id.eq(id.0).assume_not_null()),
        Subject::Enrollment(id) => Box::new(payments::enrollment_id.eq(id.0).assume_not_null()),
        Subject::Subscription(id) => Box::new(payments::subscription_id.eq(id.0).assume_not_null()),
    }
}

fn with_steps(conn: &mut PgConnection, rows: Vec<PaymentRow>) -> QueryResult<Vec<Payment>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut steps: HashMap<Uuid, Vec<Step>> = HashMap::new();
    let step_rows: Vec<StepRow> =
        payment_steps::table.filter(payment_steps::payment_id.eq_any(&ids)).select(StepRow::as_select()).load(conn)?;
    for row in step_rows {
        let payment = row.payment_id;
        steps.entry(payment).or_default().push(row.into_domain()?);
    }
    rows.into_iter()
        .map(|row| {
            let mut own = steps.remove(&row.id).unwrap_or_default();
            own.sort_by_key(|step| StepName::ALL.iter().position(|name| *name == step.name));
            row.into_domain(own)
        })
        .collect()
}

/// Money a subject's processing payments hold (reserved, not yet captured).
pub fn reserved(conn: &mut PgConnection, subject: Subject) -> QueryResult<Money> {
    let total: Option<Decimal> = payments::table
        .filter(subject_filter(subject))
        .filter(payments::status.eq(PaymentStatus::Processing.as_str()))
        .select(diesel::dsl::sum(payments::amount))
        .first(conn)?;
    Ok(Money::from_decimal(total.unwrap_or_default()))
}

/// Records a step's new status; `attempts` more attempts were made.
pub fn set_step(
    conn: &mut PgConnection,
    id: PaymentId,
    step: StepName,
    status: StepStatus,
    error: Option<&str>,
    attempts: i32,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let finished = matches!(status, StepStatus::Succeeded | StepStatus::Failed | StepStatus::Skipped).then_some(now);
    let started = (status == StepStatus::Running).then_some(now);
    diesel::insert_into(payment_steps::table)
        .values(StepRow {
            payment_id: id.0,
            step: step.as_str().into(),
            status: status.as_str().into(),
            attempts,
            error: error.map(str::to_string),
            started_at: started.or(finished),
            finished_at: finished,
        })
        .on_conflict((payment_steps::payment_id, payment_steps::step))
        .do_update()
        .set((
            payment_steps::status.eq(status.as_str()),
            payment_steps::attempts.eq(payment_steps::attempts + attempts),
            payment_steps::error.eq(error),
            payment_steps::started_at.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(
                    "coalesce(payment_steps.started_at, excluded.started_at)",
                ),
            ),
            payment_steps::finished_at.eq(finished),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves a step out of `pending`/`running` once: `false` when another driver already did.
pub fn end_running_step(
    conn: &mut PgConnection,
    id: PaymentId,
    step: StepName,
    status: StepStatus,
    error: Option<&str>,
    attempts: i32,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        payment_steps::table
            .filter(payment_steps::payment_id.eq(id.0))
            .filter(payment_steps::step.eq(step.as_str()))
            .filter(payment_steps::status.eq_any([StepStatus::Pending.as_str(), StepStatus::Running.as_str()])),
    )
    .set((
        payment_steps::status.eq(status.as_str()),
        payment_steps::attempts.eq(payment_steps::attempts + attempts),
        payment_steps::error.eq(error),
        payment_steps::finished_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Ends the payment's processing: `succeeded`, `failed` (with why) or `refunded`; `reference`
/// is the charge's when it is recorded now.
pub fn finish(
    conn: &mut PgConnection,
    id: PaymentId,
    status: PaymentStatus,
    failure: Option<&Failure>,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(payments::table.find(id.0))
        .set((
            payments::gateway_reference.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                "coalesce(",
            )
            .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(reference)
            .sql(", gateway_reference)")),
            payments::status.eq(status.as_str()),
            payments::failure_code.eq(failure.map(|f| f.code.as_str())),
            payments::failure_message.eq(failure.map(|f| f.message.as_str())),
            payments::lease_until.eq(None::<DateTime<Utc>>),
            payments::updated_at.eq(now),
            payments::completed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_gateway_reference(conn: &mut PgConnection, id: PaymentId, reference: &str) -> QueryResult<()> {
    diesel::update(payments::table.find(id.0)).set(payments::gateway_reference.eq(reference)).execute(conn)?;
    Ok(())
}

/// Extends (or takes) the lease of whoever drives the payment's saga.
pub fn lease(conn: &mut PgConnection, id: PaymentId, until: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(payments::table.find(id.0)).set(payments::lease_until.eq(until)).execute(conn)?;
    Ok(())
}

/// Claims up to `limit` processing payments whose driver's lease ran out (a crashed or
/// restarted server), skipping rows another replica is claiming right now.
pub fn claim_stalled(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<PaymentId>> {
    Ok(claim(conn, "payments", now, until, limit)?.into_iter().map(PaymentId).collect())
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// Takes the lease of up to `limit` processing rows of `table` whose lease ran out.
fn claim(
    conn: &mut PgConnection,
    table: &'static str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    use diesel::sql_types::{BigInt, Timestamptz};
    let claimed: Vec<Claimed> = diesel::sql_query(format!(
        "UPDATE {table} SET lease_until = $2
          WHERE id IN (SELECT id FROM {table}
                        WHERE status = 'processing' AND (lease_until IS NULL OR lease_until < $1)
                        ORDER BY lease_until NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING id"
    ))
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(claimed.into_iter().map(|row| row.id).collect())
}

/// Adds `delta` (negative to give back) to what refunds hold of the payment, and sets its status.
pub fn add_refunded(
    conn: &mut PgConnection,
    id: PaymentId,
    delta: Decimal,
    status: PaymentStatus,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(payments::table.find(id.0))
        .set((
            payments::amount_refunded.eq(payments::amount_refunded + delta),
            payments::status.eq(status.as_str()),
            payments::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the subject exists (for reads of its payments).
pub fn subject_exists(conn: &mut PgConnection, subject: Subject) -> QueryResult<bool> {
    match subject {
        Subject::Order(id) => diesel::select(diesel::dsl::exists(orders::table.find(id.0))).get_result(conn),
        Subject::Enrollment(id) => diesel::select(diesel::dsl::exists(enrollments::table.find(id.0))).get_result(conn),
        Subject::Subscription(id) => {
            diesel::select(diesel::dsl::exists(subscriptions::table.find(id.0))).get_result(conn)
        }
    }
}

// --- Refunds ------------------------------------------------------------------------------------

pub fn insert_refund(conn: &mut PgConnection, refund: &Refund, lease_until: Option<DateTime<Utc>>) -> QueryResult<()> {
    diesel::insert_into(refunds::table).values(RefundRow::new(refund, lease_until)).execute(conn)?;
    Ok(())
}

pub fn find_refund(conn: &mut PgConnection, id: RefundId) -> QueryResult<Option<Refund>> {
    refunds::table
        .find(id.0)
        .select(RefundRow::as_select())
        .first::<RefundRow>(conn)
        .optional()?
        .map(RefundRow::into_domain)
        .transpose()
}

pub fn lock_refund(conn: &mut PgConnection, id: RefundId) -> QueryResult<Option<Refund>> {
    refunds::table
        .find(id.0)
        .select(RefundRow::as_select())
        .for_update()
        .first::<RefundRow>(conn)
        .optional()?
        .map(RefundRow::into_domain)
        .transpose()
}

/// The automatic refund (the saga's compensation) of a payment still under way, if any.
pub fn compensation_in_progress(conn: &mut PgConnection, id: PaymentId) -> QueryResult<Option<Refund>> {
    refunds::table
        .filter(refunds::payment_id.eq(id.0))
        .filter(refunds::automatic)
        .filter(refunds::status.eq(RefundStatus::Processing.as_str()))
        .select(RefundRow::as_select())
        .order(refunds::id.asc())
        .first::<RefundRow>(conn)
        .optional()?
        .map(RefundRow::into_domain)
        .transpose()
}

/// A payment's refunds in creation order after `after`, at most `limit`.
pub fn refunds_of(conn: &mut PgConnection, id: PaymentId, after: Option<Uuid>, limit: i64) -> QueryResult<Vec<Refund>> {
    refunds::table
        .filter(refunds::payment_id.eq(id.0))
        .filter(refunds::id.gt(after.unwrap_or(Uuid::nil())))
        .select(RefundRow::as_select())
        .order(refunds::id.asc())
        .limit(limit)
        .load::<RefundRow>(conn)?
        .into_iter()
        .map(RefundRow::into_domain)
        .collect()
}

pub fn finish_refund(
    conn: &mut PgConnection,
    id: RefundId,
    status: RefundStatus,
    reference: Option<&str>,
    failure: Option<&Failure>,
    now: DateTime<Utc>,
) -> QueryResult<Refund> {
    diesel::update(refunds::table.find(id.0))
        .set((
            refunds::status.eq(status.as_str()),
            refunds::gateway_reference.eq(reference),
            refunds::failure_code.eq(failure.map(|f| f.code.as_str())),
            refunds::failure_message.eq(failure.map(|f| f.message.as_str())),
            refunds::lease_until.eq(None::<DateTime<Utc>>),
            refunds::updated_at.eq(now),
            refunds::completed_at.eq(now),
        ))
        .returning(RefundRow::as_returning())
        .get_result::<RefundRow>(conn)?
        .into_domain()
}

pub fn lease_refund(conn: &mut PgConnection, id: RefundId, until: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(refunds::table.find(id.0)).set(refunds::lease_until.eq(until)).execute(conn)?;
    Ok(())
}

/// `claim_stalled` for refunds.
pub fn claim_stalled_refunds(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<RefundId>> {
    Ok(claim(conn, "refunds", now, until, limit)?.into_iter().map(RefundId).collect())
}

// --- Subjects -----------------------------------------------------------------------------------

/// What a subject owes and whether it takes money, read under its row lock (every payment and
/// refund of a subject takes this lock first, so balances are checked race-free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payable {
    pub client_id: ClientId,
    /// What it costs after the refunds credited to it (its total less what was refunded).
    pub total: Money,
    pub paid: Money,
    /// Whether it takes money (cancelled and refunded subjects do not).
    pub open: bool,
    /// The order's status, for an order.
    pub order_status: Option<crate::domain::orders::OrderStatus>,
}

/// The subject, row-locked. (What its processing payments hold is read by `reserved` in a
/// statement of its own, after the lock: a subquery here would read with the snapshot taken
/// before waiting for the lock, and miss a payment committed meanwhile.)
pub fn lock_payable(conn: &mut PgConnection, subject: Subject) -> QueryResult<Option<Payable>> {
    use crate::domain::orders::OrderStatus;
    use crate::domain::workshops::EnrollmentStatus;
    use diesel::sql_types::Numeric;
    let (table, total) = match subject {
        Subject::Order(_) => ("orders", "total"),
        Subject::Enrollment(_) => ("enrollments", "price"),
        Subject::Subscription(_) => ("subscriptions", "amount"),
    };
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        client_id: Uuid,
        #[diesel(sql_type = Numeric)]
        total: Decimal,
        #[diesel(sql_type = Numeric)]
        amount_paid: Decimal,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    // What it costs after the refunds credited to it: refunds are not debts.
    let row: Option<Row> = diesel::sql_query(format!(
        "SELECT client_id, {total} - amount_refunded AS total, amount_paid, status FROM {table} WHERE id = $1 FOR NO KEY UPDATE"
    ))
    .bind::<diesel::sql_types::Uuid, _>(subject.id())
    .get_result(conn)
    .optional()?;
    Ok(row.map(|row| Payable {
        client_id: ClientId(row.client_id),
        total: Money::from_decimal(row.total),
        paid: Money::from_decimal(row.amount_paid),
        open: match subject {
            Subject::Order(_) => OrderStatus::parse(&row.status).is_some_and(OrderStatus::takes_payments),
            Subject::Enrollment(_) => row.status != EnrollmentStatus::Cancelled.as_str(),
            Subject::Subscription(_) => row.status != SubscriptionStatus::Cancelled.as_str(),
        },
        order_status: matches!(subject, Subject::Order(_)).then(|| OrderStatus::parse(&row.status)).flatten(),
    }))
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub(super) struct PaymentRow {
    pub id: Uuid,
    pub subject_type: String,
    pub order_id: Option<Uuid>,
    pub enrollment_id: Option<Uuid>,
    pub subscription_id: Option<Uuid>,
    pub client_id: Uuid,
    pub amount: Decimal,
    pub amount_refunded: Decimal,
    pub method: String,
    pub token: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl PaymentRow {
    pub fn new(p: &Payment, lease_until: Option<DateTime<Utc>>) -> Self {
        let id = |kind: SubjectType| (p.subject.kind() == kind).then(|| p.subject.id());
        PaymentRow {
            id: p.id.0,
            subject_type: p.subject.kind().as_str().to_string(),
            order_id: id(SubjectType::Order),
            enrollment_id: id(SubjectType::Enrollment),
            subscription_id: id(SubjectType::Subscription),
            client_id: p.client_id.0,
            amount: p.amount.amount(),
            amount_refunded: p.amount_refunded.amount(),
            method: p.method.as_str().to_string(),
            token: p.token.clone(),
            description: p.description.clone(),
            status: p.status.as_str().to_string(),
            failure_code: p.failure.as_ref().map(|f| f.code.clone()),
            failure_message: p.failure.as_ref().map(|f| f.message.clone()),
            gateway_reference: p.gateway_reference.clone(),
            lease_until,
            created_at: p.created_at,
            updated_at: p.updated_at,
            completed_at: p.completed_at,
        }
    }

    pub fn into_domain(self, steps: Vec<Step>) -> QueryResult<Payment> {
        let kind = parse_text("payments.subject_type", &self.subject_type, SubjectType::parse)?;
        let subject_id = self.order_id.or(self.enrollment_id).or(self.subscription_id).ok_or_else(|| {
            diesel::result::Error::DeserializationError(format!("payment {} names no subject", self.id).into())
        })?;
        Ok(Payment {
            id: self.id.into(),
            subject: Subject::new(kind, subject_id),
            client_id: self.client_id.into(),
            amount: Money::from_decimal(self.amount),
            amount_refunded: Money::from_decimal(self.amount_refunded),
            method: parse_text("payments.method", &self.method, PaymentMethod::parse)?,
            token: self.token,
            description: self.description,
            status: parse_text("payments.status", &self.status, PaymentStatus::parse)?,
            failure: failure(self.failure_code, self.failure_message),
            gateway_reference: self.gateway_reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            steps,
        })
    }
}

fn failure(code: Option<String>, message: Option<String>) -> Option<Failure> {
    code.map(|code| Failure { message: message.unwrap_or_else(|| code.clone()), code })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payment_steps, check_for_backend(diesel::pg::Pg))]
pub(super) struct StepRow {
    pub payment_id: Uuid,
    pub step: String,
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl StepRow {
    pub fn new(payment_id: Uuid, step: &Step) -> Self {
        StepRow {
            payment_id,
            step: step.name.as_str().to_string(),
            status: step.status.as_str().to_string(),
            attempts: step.attempts,
            error: step.error.clone(),
            started_at: step.started_at,
            finished_at: step.finished_at,
        }
    }

    pub fn into_domain(self) -> QueryResult<Step> {
        Ok(Step {
            name: parse_text("payment_steps.step", &self.step, StepName::parse)?,
            status: parse_text("payment_steps.status", &self.status, StepStatus::parse)?,
            attempts: self.attempts,
            error: self.error,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds, check_for_backend(diesel::pg::Pg))]
pub(super) struct RefundRow {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub amount: Decimal,
    pub reason: String,
    pub automatic: bool,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl RefundRow {
    pub fn new(r: &Refund, lease_until: Option<DateTime<Utc>>) -> Self {
        RefundRow {
            id: r.id.0,
            payment_id: r.payment_id.0,
            amount: r.amount.amount(),
            reason: r.reason.clone(),
            automatic: r.automatic,
            status: r.status.as_str().to_string(),
            failure_code: r.failure.as_ref().map(|f| f.code.clone()),
            failure_message: r.failure.as_ref().map(|f| f.message.clone()),
            gateway_reference: r.gateway_reference.clone(),
            lease_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
        }
    }

    pub fn into_domain(self) -> QueryResult<Refund> {
        Ok(Refund {
            id: self.id.into(),
            payment_id: self.payment_id.into(),
            amount: Money::from_decimal(self.amount),
            reason: self.reason,
            automatic: self.automatic,
            status: parse_text("refunds.status", &self.status, RefundStatus::parse)?,
            failure: failure(self.failure_code, self.failure_message),
            gateway_reference: self.gateway_reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
        })
    }
}
