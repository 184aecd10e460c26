//! Coupons: codes that take a percentage or a fixed amount off an order.

use super::companies::decode_id_cursor;
use super::validation::{double_option, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::ids::CouponId;
use crate::domain::money::Money;
use crate::domain::orders::{Coupon, CouponKind};
use crate::domain::page::{encode_cursor, Page};
use crate::store::pg::models::{CouponChangeset, CouponRow};
use crate::store::pg::orders as repo;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    /// 3 to 40 letters, digits, `-` or `_`; unique regardless of case.
    #[validate(custom(function = coupon_code))]
    #[schema(pattern = r"^[A-Za-z0-9_-]{3,40}$", example = "SPRING10")]
    pub code: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub kind: CouponKind,
    /// Percent off (more than 0, at most 100) or amount off (more than 0).
    #[validate(custom(function = super::validation::price))]
    #[schema(example = "10")]
    pub value: Money,
    pub valid_from: Option<DateTime<Utc>>,
    /// Exclusive end; after `valid_from` when both are set.
    pub valid_until: Option<DateTime<Utc>>,
    /// Default 0.
    #[validate(custom(function = super::validation::amount))]
    pub min_order_amount: Option<Money>,
    /// `null` or absent: unlimited.
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub max_redemptions: Option<i32>,
    /// Default `false`.
    pub once_per_client: Option<bool>,
    /// Default `true`.
    pub active: Option<bool>,
}

/// Only the fields present change; `null` clears the nullable ones. The code cannot change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CouponPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    pub kind: Option<CouponKind>,
    #[validate(custom(function = super::validation::price))]
    pub value: Option<Money>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_from: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_until: Option<Option<DateTime<Utc>>>,
    #[validate(custom(function = super::validation::amount))]
    pub min_order_amount: Option<Money>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 100_000_000)]
    pub max_redemptions: Option<Option<i32>>,
    pub once_per_client: Option<bool>,
    pub active: Option<bool>,
}

fn coupon_code(code: &str) -> Result<(), validator::ValidationError> {
    let shaped =
        (3..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(())
    } else {
        Err(validator::ValidationError::new("code").with_message("must be 3 to 40 letters, digits, '-' or '_'".into()))
    }
}

/// Rules that span fields; the schema's CHECK constraints repeat them for updates.
fn check_terms(
    kind: CouponKind,
    value: Money,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> AppResult<()> {
    if kind == CouponKind::Percentage && value > Money::from_cents(10_000) {
        return Err(AppError::invalid("value", "out_of_range", "a percentage is at most 100"));
    }
    if let (Some(from), Some(until)) = (from, until) {
        if until <= from {
            return Err(AppError::invalid("valid_until", "out_of_range", "must be after valid_from"));
        }
    }
    Ok(())
}

pub async fn create(state: &AppState, input: CouponInput) -> AppResult<Coupon> {
    validate(&input)?;
    check_terms(input.kind, input.value, input.valid_from, input.valid_until)?;
    let now = super::now();
    let row = CouponRow {
        id: CouponId::new().0,
        code: input.code,
        description: input.description,
        kind: input.kind.as_str().to_string(),
        value: input.value.amount(),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        min_order_amount: input.min_order_amount.unwrap_or(Money::ZERO).amount(),
        max_redemptions: input.max_redemptions,
        redemptions: 0,
        once_per_client: input.once_per_client.unwrap_or(false),
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    state.db.run(move |conn| Ok(repo::insert_coupon(conn, &row)?.into_domain()?)).await
}

pub async fn get(state: &AppState, id: CouponId) -> AppResult<Coupon> {
    state
        .db
        .run(move |conn| match repo::find_coupon(conn, id.0)? {
            Some(row) => Ok(row.into_domain()?),
            None => Err(AppError::not_found("coupon", id)),
        })
        .await
}

pub async fn list(
    state: &AppState,
    search: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<Coupon>> {
    let after = decode_id_cursor(cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok::<_, AppError>(repo::list_coupons(conn, search.as_deref(), after, limit + 1)?))
        .await?;
    let page = Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id));
    let items = page.items.into_iter().map(CouponRow::into_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

pub async fn update(state: &AppState, id: CouponId, patch: CouponPatch) -> AppResult<Coupon> {
    validate(&patch)?;
    let changes = CouponChangeset {
        description: patch.description,
        kind: patch.kind.map(|k| k.as_str().to_string()),
        value: patch.value.map(Money::amount),
        valid_from: patch.valid_from,
        valid_until: patch.valid_until,
        min_order_amount: patch.min_order_amount.map(Money::amount),
        max_redemptions: patch.max_redemptions,
        once_per_client: patch.once_per_client,
        active: patch.active,
        updated_at: Some(super::now()),
    };
    // Rules across fields are checked on the merged row by the schema's CHECK constraints.
    state
        .db
        .run(move |conn| match repo::update_coupon(conn, id.0, &changes)? {
            Some(row) => Ok(row.into_domain()?),
            None => Err(AppError::not_found("coupon", id)),
        })
        .await
}

pub async fn delete(state: &AppState, id: CouponId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                repo::delete_coupon(conn, id.0),
                "coupon",
                id,
                "coupon_in_use",
                "orders used this coupon; deactivate it instead",
            )
        })
        .await
}
