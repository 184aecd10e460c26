//! Workshops with limited seats, enrollments and their payments.
//!
//! Every seat is a row (`workshop_seats`); enrolling claims a free one with `FOR UPDATE SKIP
//! LOCKED`, so there are never more enrollments than seats, and simultaneous enrollments claim
//! different rows and commit in parallel rather than queueing on one counter row. A partial
//! unique index keeps one live enrollment per client and workshop (a second concurrent attempt
//! fails on it, and its claim is rolled back with it). Cancelling locks the enrollment first, so
//! its seat is freed once. Capacity changes lock the workshop and add or remove free seats.

use super::companies::decode_id_cursor;
use super::validation::{double_option, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::ids::{EnrollmentId, PaymentId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::{OrderStatus, PaymentMethod};
use crate::domain::page::{encode_cursor, Page};
use crate::domain::workshops::{
    ClientActivity, Enrollment, EnrollmentStatus, EnrollmentSummary, Modality, OrderSummary, Payment, Workshop,
};
use crate::store::pg::clients;
use crate::store::pg::models::{EnrollmentRow, PaymentRow, WorkshopChangeset, WorkshopRow};
use crate::store::pg::workshops::{self as repo, EnrollmentFilter, WorkshopFilter};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WorkshopInput {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 200), custom(function = super::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Hand-cut dovetails"
    )]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// An interest id.
    pub category_id: Uuid,
    /// Must be in the future.
    pub starts_at: DateTime<Utc>,
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080, example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    /// Required for `in_person`.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    /// Required for `online`.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, example = "https://meet.example.com/dovetails")]
    pub link: Option<String>,
    #[validate(custom(function = super::validation::price))]
    #[schema(example = "85.00")]
    pub price: Money,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000, example = 12)]
    pub capacity: i32,
    /// Default `true`; inactive workshops take no enrollments.
    pub active: Option<bool>,
}

/// Only the fields present change; `null` clears `description`, `location` or `link`.
/// Lowering `capacity` below the seats taken is a 409.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WorkshopPatch {
    #[validate(length(min = 1, max = 200), custom(function = super::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 5000))]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    pub category_id: Option<Uuid>,
    pub starts_at: Option<DateTime<Utc>>,
    #[validate(range(min = 1, max = 10080))]
    #[schema(minimum = 1, maximum = 10080)]
    pub duration_minutes: Option<i32>,
    pub modality: Option<Modality>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 500))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 500))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub link: Option<Option<String>>,
    #[validate(custom(function = super::validation::price))]
    pub price: Option<Money>,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub capacity: Option<i32>,
    pub active: Option<bool>,
}

/// Filters for `GET /workshops`, ordered by start time.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkshopListParams {
    pub category_id: Option<Uuid>,
    #[param(inline)]
    pub modality: Option<Modality>,
    /// `true`: only workshops that have not started.
    pub upcoming: Option<bool>,
    /// `true`: only workshops with a free seat; `false`: only sold-out ones.
    pub has_seats: Option<bool>,
    pub active: Option<bool>,
    /// Case-insensitive text search in name and description.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollInput {
    pub client_id: Uuid,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// More than 0 and at most the enrollment's balance.
    #[validate(custom(function = super::validation::price))]
    #[schema(example = "40.00")]
    pub amount: Money,
    pub method: PaymentMethod,
}

/// Filters for `GET /enrollments`, newest first.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnrollmentListParams {
    pub workshop_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    #[param(inline)]
    pub status: Option<EnrollmentStatus>,
    /// `true`: only `pending_payment` and `partially_paid` — the debtors list.
    pub unpaid: Option<bool>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WorkshopCursor {
    at: DateTime<Utc>,
    id: Uuid,
}

fn check_place(modality: Modality, location: Option<&String>, link: Option<&String>) -> AppResult<()> {
    match modality {
        Modality::InPerson if location.is_none() => {
            Err(AppError::invalid("location", "required", "in_person workshops need a location"))
        }
        Modality::Online if link.is_none() => {
            Err(AppError::invalid("link", "required", "online workshops need a link"))
        }
        _ => Ok(()),
    }
}

pub async fn create(state: &AppState, input: WorkshopInput) -> AppResult<Workshop> {
    validate(&input)?;
    check_place(input.modality, input.location.as_ref(), input.link.as_ref())?;
    let now = super::now();
    if input.starts_at <= now {
        return Err(AppError::invalid("starts_at", "in_the_past", "must be in the future"));
    }
    let row = WorkshopRow {
        id: WorkshopId::new().0,
        name: input.name,
        description: input.description,
        category_id: input.category_id,
        starts_at: input.starts_at,
        duration_minutes: input.duration_minutes,
        modality: input.modality.as_str().to_string(),
        location: input.location,
        link: input.link,
        price: input.price.amount(),
        capacity: input.capacity,
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let workshop = repo::insert_workshop(conn, &row)?;
                repo::add_seats(conn, workshop.id, workshop.capacity)?;
                Ok(workshop.into_domain(0)?)
            })
        })
        .await
}

pub async fn get(state: &AppState, id: WorkshopId) -> AppResult<Workshop> {
    state
        .db
        .run(move |conn| match repo::find_workshop(conn, id.0)? {
            Some(row) => with_seats(conn, row),
            None => Err(AppError::not_found("workshop", id)),
        })
        .await
}

pub async fn list(state: &AppState, params: WorkshopListParams) -> AppResult<Page<Workshop>> {
    let limit = super::page_limit(params.limit, params.q.as_deref())?;
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => {
            let cursor =
                crate::domain::page::decode_cursor::<WorkshopCursor>(text).ok_or_else(super::invalid_cursor)?;
            Some((cursor.at, cursor.id))
        }
    };
    let filter = WorkshopFilter {
        category_id: params.category_id,
        modality: params.modality.map(Modality::as_str),
        starting_after: params.upcoming.filter(|upcoming| *upcoming).map(|_| super::now()),
        has_seats: params.has_seats,
        active: params.active,
        search: params.q.filter(|q| !q.trim().is_empty()),
    };
    state
        .db
        .run(move |conn| {
            let rows = repo::list_workshops(conn, &filter, after, limit + 1)?;
            let page = Page::from_overfetch(rows, limit, |row| {
                encode_cursor(&WorkshopCursor { at: row.starts_at, id: row.id })
            });
            let ids: Vec<Uuid> = page.items.iter().map(|row| row.id).collect();
            let taken = repo::seats_taken(conn, &ids)?;
            let items = page
                .items
                .into_iter()
                .map(|row| {
                    let seats = taken.get(&row.id).copied().unwrap_or(0);
                    row.into_domain(seats)
                })
                .collect::<Result<_, _>>()?;
            Ok(Page { items, next_cursor: page.next_cursor })
        })
        .await
}

pub async fn update(state: &AppState, id: WorkshopId, patch: WorkshopPatch) -> AppResult<Workshop> {
    validate(&patch)?;
    let changes = WorkshopChangeset {
        name: patch.name,
        description: patch.description,
        category_id: patch.category_id,
        starts_at: patch.starts_at,
        duration_minutes: patch.duration_minutes,
        modality: patch.modality.map(|m| m.as_str().to_string()),
        location: patch.location,
        link: patch.link,
        price: patch.price.map(Money::amount),
        capacity: patch.capacity,
        active: patch.active,
        updated_at: Some(super::now()),
    };
    // The modality/place rule is a CHECK constraint on the merged row. A new capacity adds or
    // removes free seats under the workshop's lock; removing fewer than needed means more
    // seats are taken than the new capacity (the error rolls everything back).
    state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = repo::lock_workshop(conn, id.0)?.ok_or_else(|| AppError::not_found("workshop", id))?;
                if let Some(capacity) = changes.capacity {
                    let change = capacity - current.capacity;
                    if change > 0 {
                        repo::add_seats(conn, id.0, change)?;
                    } else if change < 0 && repo::remove_free_seats(conn, id.0, -change)? < -change {
                        return Err(AppError::conflict(
                            "capacity_below_seats_taken",
                            Some("capacity"),
                            "more seats are already taken than this capacity",
                        ));
                    }
                }
                let row =
                    repo::update_workshop(conn, id.0, &changes)?.ok_or_else(|| AppError::not_found("workshop", id))?;
                with_seats(conn, row)
            })
        })
        .await
}

/// The workshop with its seats taken.
fn with_seats(conn: &mut PgConnection, row: WorkshopRow) -> AppResult<Workshop> {
    let taken = repo::seats_taken(conn, &[row.id])?.get(&row.id).copied().unwrap_or(0);
    Ok(row.into_domain(taken)?)
}

pub async fn delete(state: &AppState, id: WorkshopId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                repo::delete_workshop(conn, id.0),
                "workshop",
                id,
                "workshop_in_use",
                "the workshop has enrollments; deactivate it instead",
            )
        })
        .await
}

pub async fn enroll(state: &AppState, workshop: WorkshopId, input: EnrollInput) -> AppResult<Enrollment> {
    state.db.run(move |conn| conn.transaction(|conn| enroll_in(conn, workshop, input.client_id))).await
}

pub(crate) fn enroll_in(conn: &mut PgConnection, workshop: WorkshopId, client_id: Uuid) -> AppResult<Enrollment> {
    let client = clients::find(conn, client_id)?
        .ok_or_else(|| AppError::invalid("client_id", "unknown_client", "no client has this id"))?;
    if !client.active {
        return Err(AppError::conflict("client_inactive", Some("client_id"), "inactive clients cannot enroll"));
    }
    if repo::live_enrollment_exists(conn, workshop.0, client_id)? {
        return Err(already_enrolled());
    }
    // A plain read of the free seats refuses a rush on a sold-out workshop at once, without
    // waiting behind the transactions that are taking the last seats.
    let now = super::now();
    if !repo::has_free_seat(conn, workshop.0)? {
        let current =
            repo::find_workshop(conn, workshop.0)?.ok_or_else(|| AppError::not_found("workshop", workshop))?;
        return Err(seat_refusal(&current, now).unwrap_or_else(|| sold_out(&current)));
    }
    // The terms (price, activity, start) are read under a share lock, so a concurrent change to
    // the workshop commits either wholly before this enrollment or wholly after it.
    let current =
        repo::share_lock_workshop(conn, workshop.0)?.ok_or_else(|| AppError::not_found("workshop", workshop))?;
    if let Some(refusal) = seat_refusal(&current, now) {
        return Err(refusal);
    }
    let row = EnrollmentRow {
        id: EnrollmentId::new().0,
        workshop_id: workshop.0,
        client_id,
        status: EnrollmentStatus::PendingPayment.as_str().to_string(),
        price: current.price,
        amount_paid: rust_decimal::Decimal::ZERO,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    repo::insert_enrollment(conn, &row)?;
    repo::add_client_interest(conn, client_id, current.category_id)?;
    clients::mark_active(conn, client_id)?;
    // Claiming the seat comes last: the seat row stays locked only until the commit after it.
    if !repo::take_seat(conn, workshop.0, row.id)? {
        return Err(sold_out(&current));
    }
    Ok(row.into_domain()?)
}

/// Why a workshop takes no enrollment now (other than being full), if it does not.
fn seat_refusal(workshop: &WorkshopRow, now: DateTime<Utc>) -> Option<AppError> {
    if !workshop.active {
        Some(AppError::conflict("workshop_inactive", None, "this workshop takes no enrollments"))
    } else if workshop.starts_at <= now {
        Some(AppError::conflict("workshop_started", None, "this workshop has already started"))
    } else {
        None
    }
}

fn sold_out(workshop: &WorkshopRow) -> AppError {
    AppError::conflict_with(
        "sold_out",
        None,
        "every seat of this workshop is taken",
        json!({"capacity": workshop.capacity, "seats_available": 0}),
    )
}

pub(crate) fn already_enrolled() -> AppError {
    AppError::conflict("already_enrolled", Some("client_id"), "the client is already enrolled in this workshop")
}

pub async fn get_enrollment(state: &AppState, id: EnrollmentId) -> AppResult<Enrollment> {
    state
        .db
        .run(move |conn| match repo::find_enrollment(conn, id.0)? {
            Some(row) => Ok(row.into_domain()?),
            None => Err(AppError::not_found("enrollment", id)),
        })
        .await
}

pub async fn list_enrollments(state: &AppState, params: EnrollmentListParams) -> AppResult<Page<Enrollment>> {
    let limit = super::page_limit(params.limit, None)?;
    let before = decode_id_cursor(params.cursor.as_deref())?;
    let mut statuses: Vec<&'static str> = params.status.map(EnrollmentStatus::as_str).into_iter().collect();
    match params.unpaid {
        Some(true) if statuses.is_empty() => statuses = EnrollmentStatus::UNPAID.map(EnrollmentStatus::as_str).to_vec(),
        Some(true) => statuses.retain(|s| EnrollmentStatus::UNPAID.iter().any(|u| u.as_str() == *s)),
        Some(false) if statuses.is_empty() => statuses = vec!["paid", "cancelled"],
        Some(false) => statuses.retain(|s| !EnrollmentStatus::UNPAID.iter().any(|u| u.as_str() == *s)),
        None => {}
    }
    if params.status.is_some() && statuses.is_empty() {
        return Ok(Page { items: Vec::new(), next_cursor: None });
    }
    let filter = EnrollmentFilter { workshop_id: params.workshop_id, client_id: params.client_id, statuses };
    let rows =
        state.db.run(move |conn| Ok::<_, AppError>(repo::list_enrollments(conn, &filter, before, limit + 1)?)).await?;
    let page = Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id));
    let items = page.items.into_iter().map(EnrollmentRow::into_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Cancels the enrollment and releases its seat, once: a second cancel is a 409. Payments
/// already made stay recorded (refunds belong to payments).
pub async fn cancel_enrollment(state: &AppState, id: EnrollmentId) -> AppResult<Enrollment> {
    state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let row = repo::lock_enrollment(conn, id.0)?.ok_or_else(|| AppError::not_found("enrollment", id))?;
                if row.status == EnrollmentStatus::Cancelled.as_str() {
                    return Err(AppError::conflict("already_cancelled", None, "this enrollment is already cancelled"));
                }
                let cancelled = repo::cancel_enrollment(conn, id.0)?;
                repo::release_seat(conn, id.0)?;
                Ok(cancelled.into_domain()?)
            })
        })
        .await
}

/// Records a payment under the enrollment's row lock; the status follows the amount paid.
pub async fn pay(state: &AppState, id: EnrollmentId, input: PaymentInput) -> AppResult<Enrollment> {
    validate(&input)?;
    state.db.run(move |conn| conn.transaction(|conn| pay_in(conn, id, input.amount, input.method))).await
}

pub(crate) fn pay_in(
    conn: &mut PgConnection,
    id: EnrollmentId,
    amount: Money,
    method: PaymentMethod,
) -> AppResult<Enrollment> {
    let row = repo::lock_enrollment(conn, id.0)?.ok_or_else(|| AppError::not_found("enrollment", id))?;
    let enrollment = row.into_domain()?;
    if enrollment.status == EnrollmentStatus::Cancelled {
        return Err(AppError::conflict("enrollment_cancelled", None, "this enrollment is cancelled"));
    }
    if amount > enrollment.balance {
        return Err(AppError::conflict_with(
            "overpayment",
            Some("amount".into()),
            format!("the balance is {}", enrollment.balance),
            json!({"balance": enrollment.balance}),
        ));
    }
    let paid = enrollment.amount_paid + amount;
    let payment = PaymentRow {
        id: PaymentId::new().0,
        enrollment_id: id.0,
        amount: amount.amount(),
        method: method.as_str().to_string(),
        created_at: super::now(),
    };
    let status = EnrollmentStatus::for_payment(paid, enrollment.price);
    Ok(repo::record_payment(conn, &payment, paid.amount(), status.as_str())?.into_domain()?)
}

pub async fn payments(state: &AppState, id: EnrollmentId) -> AppResult<Vec<Payment>> {
    state
        .db
        .run(move |conn| {
            if repo::find_enrollment(conn, id.0)?.is_none() {
                return Err(AppError::not_found("enrollment", id));
            }
            Ok(repo::list_payments(conn, id.0)?.into_iter().map(PaymentRow::into_domain).collect::<Result<_, _>>()?)
        })
        .await
}

/// Orders and enrollments of one client, summarized for the complete client view.
pub(crate) fn activity(
    record: &crate::store::pg::clients::ActivityRecord,
    now: DateTime<Utc>,
) -> AppResult<ClientActivity> {
    let corrupt = |column: &str, value: &str| AppError::Internal(anyhow::anyhow!("{column} holds {value:?}"));
    let last_order = match &record.last_order {
        Some(order) => Some(OrderSummary {
            id: order.id.into(),
            status: OrderStatus::parse(&order.status).ok_or_else(|| corrupt("orders.status", &order.status))?,
            total: Money::from_decimal(order.total),
            created_at: order.created_at,
        }),
        None => None,
    };
    let mut upcoming_workshops = Vec::new();
    let mut unpaid_enrollments = Vec::new();
    for open in &record.open_enrollments {
        let status =
            EnrollmentStatus::parse(&open.status).ok_or_else(|| corrupt("enrollments.status", &open.status))?;
        let summary = EnrollmentSummary {
            enrollment_id: open.enrollment_id.into(),
            workshop_id: open.workshop_id.into(),
            workshop_name: open.workshop_name.clone(),
            starts_at: open.starts_at,
            status,
            balance: Money::from_decimal(open.price).saturating_sub(Money::from_decimal(open.amount_paid)),
        };
        if EnrollmentStatus::UNPAID.contains(&status) {
            unpaid_enrollments.push(summary.clone());
        }
        if open.starts_at > now {
            upcoming_workshops.push(summary);
        }
    }
    unpaid_enrollments.sort_by_key(|s| s.enrollment_id);
    Ok(ClientActivity {
        order_count: record.order_count,
        total_spent: Money::from_decimal(record.total_spent),
        last_order,
        upcoming_workshops,
        unpaid_enrollments,
    })
}
