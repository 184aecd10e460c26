//! Coupons: codes that take a percentage or a fixed amount off an order.

use super::constraints::{conflict, gone, invalid, length, out_of_range, Meaning, Rule};
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use super::{delete_row, insert_row, update_row};
use crate::domain::coupons::{Coupon, CouponChanges, CouponKind, CouponTerms, NewCoupon};
use crate::domain::ids::{CouponId, Located};
use crate::domain::money::Money;
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::store::pg::coupons as repo;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("coupons_code_key", conflict("code_taken", Some("code"), "a coupon with this code exists")),
    Rule::Check("coupons_code_check", invalid("code", "invalid", "must be 3 to 40 letters, digits, '-' or '_'")),
    Rule::Check("coupons_description_check", length("description", 0, 500)),
    Rule::Check("coupons_kind_check", invalid("kind", "invalid", "must be percentage or fixed_amount")),
    Rule::Check("coupons_value_check", out_of_range("value", "must be more than 0 and at most 1000000.00")),
    Rule::Check("coupons_min_order_amount_check", out_of_range("min_order_amount", "must be 0 or more")),
    Rule::Check("coupons_max_redemptions_check", out_of_range("max_redemptions", "must be at least 1")),
    Rule::Check("coupons_percentage_at_most_100", out_of_range("value", "a percentage is at most 100")),
    Rule::Check("coupons_window_ordered", out_of_range("valid_until", "must be after valid_from")),
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
    Rule::foreign_key("coupon_redemptions_coupon_id_fkey", gone("coupon"), Some(IN_USE)),
    Rule::foreign_key(
        "coupon_redemptions_client_id_fkey",
        invalid("client_id", "unknown_client", "no client has this id"),
        Some(super::clients::IN_USE),
    ),
    Rule::foreign_key("coupon_redemptions_order_id_fkey", gone("order"), None),
];

/// Coupons that orders used are kept for those orders: deactivate them instead.
pub(crate) const IN_USE: Meaning = conflict("coupon_in_use", None, "orders used this coupon; deactivate it instead");

impl Keyed for Coupon {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// Rules that span fields; the schema's CHECK constraints repeat them for patches.
fn check_terms(terms: &CouponTerms) -> AppResult<()> {
    if terms.kind == CouponKind::Percentage && terms.value > Money::from_cents(10_000) {
        return Err(AppError::invalid("value", "out_of_range", "a percentage is at most 100"));
    }
    if let (Some(from), Some(until)) = (terms.valid_from, terms.valid_until) {
        if until <= from {
            return Err(AppError::invalid("valid_until", "out_of_range", "must be after valid_from"));
        }
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewCoupon) -> AppResult<Coupon> {
    check_terms(&input.terms)?;
    let coupon = input.into_coupon(clock::now());
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
