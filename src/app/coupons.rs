//! Coupons: codes that take a percentage or a fixed amount off an order.

use super::constraints::{conflict, invalid, length, Meaning, Rule};
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use super::{delete_row, insert_row, update_row};
use crate::domain::coupons::{Coupon, CouponChanges, CouponKind, NewCoupon};
use crate::domain::ids::{CouponId, Located};
use crate::domain::money::Money;
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::store::pg::coupons as repo;
use chrono::{DateTime, Utc};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("coupons_code_key", conflict("code_taken", Some("code"), "a coupon with this code exists")),
    Rule::Check("coupons_code_check", invalid("code", "invalid", "must be 3 to 40 letters, digits, '-' or '_'")),
    Rule::Check("coupons_description_check", length("description", 0, 500)),
    Rule::Check("coupons_kind_check", invalid("kind", "invalid", "must be percentage or fixed_amount")),
    Rule::Check("coupons_value_check", invalid("value", "out_of_range", "must be more than 0 and at most 1000000.00")),
    Rule::Check("coupons_min_order_amount_check", invalid("min_order_amount", "out_of_range", "must be 0 or more")),
    Rule::Check("coupons_max_redemptions_check", invalid("max_redemptions", "out_of_range", "must be at least 1")),
    Rule::Check("coupons_percentage_at_most_100", invalid("value", "out_of_range", "a percentage is at most 100")),
    Rule::Check("coupons_window_ordered", invalid("valid_until", "out_of_range", "must be after valid_from")),
    Rule::Check(
        "coupons_redemptions_within_max",
        conflict("max_redemptions_below_used", Some("max_redemptions"), "more orders already redeemed this coupon"),
    ),
    Rule::Unique(
        "coupon_redemptions_once_per_client",
        conflict(
            "coupon_already_used",
            Some("coupon_code"),
            "this client already used this coupon, which is valid once per client",
        ),
    ),
    Rule::ForeignKey {
        name: "coupon_redemptions_coupon_id_fkey",
        missing: Meaning::Gone { resource: "coupon" },
        in_use: Some(IN_USE),
    },
    Rule::ForeignKey {
        name: "coupon_redemptions_client_id_fkey",
        missing: invalid("client_id", "unknown_client", "no client has this id"),
        in_use: Some(super::clients::IN_USE),
    },
    Rule::ForeignKey {
        name: "coupon_redemptions_order_id_fkey",
        missing: Meaning::Gone { resource: "order" },
        in_use: None,
    },
];

/// Coupons that orders used are kept for those orders: deactivate them instead.
pub(crate) const IN_USE: Meaning = conflict("coupon_in_use", None, "orders used this coupon; deactivate it instead");

impl Keyed for Coupon {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// Rules that span fields; the schema's CHECK constraints repeat them for patches.
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

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewCoupon) -> AppResult<Coupon> {
    check_terms(input.kind, input.value, input.valid_from, input.valid_until)?;
    let now = clock::now();
    let coupon = Coupon {
        version: 1,
        id: CouponId::new(),
        code: input.code,
        description: input.description,
        kind: input.kind,
        value: input.value,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        min_order_amount: input.min_order_amount,
        max_redemptions: input.max_redemptions,
        redemptions: 0,
        once_per_client: input.once_per_client,
        active: input.active,
        created_at: now,
        updated_at: now,
    };
    let path = coupon.id.path();
    insert_row(state, coupon, path, repo::insert).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: CouponId) -> AppResult<Coupon> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<Coupon>> {
    id_page(state, page, move |conn, after, limit| Ok(repo::list(conn, search.as_deref(), after, limit)?)).await
}

/// Rules across fields are checked on the merged row by the schema's CHECK constraints. The
/// update waits for orders that are redeeming the coupon, and orders after it see the new terms.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: &AppState,
    id: CouponId,
    changes: CouponChanges,
    precondition: Precondition,
) -> AppResult<Coupon> {
    update_row(state, id, changes, precondition, repo::lock, repo::update).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(state: &AppState, id: CouponId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock, repo::delete).await
}
