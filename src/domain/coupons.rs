//! Coupons: their terms and the discount they give an order.

use crate::domain::ids::CouponId;
use crate::domain::money::Money;
use chrono::{DateTime, Utc};

text_enum!(
    /// `percentage` takes `value` % off the subtotal; `fixed_amount` takes `value` off.
    CouponKind { Percentage => "percentage", FixedAmount => "fixed_amount" }
);

/// A coupon as the pricing rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponTerms {
    pub kind: CouponKind,
    /// Percent off (up to 100) for `percentage`, amount off for `fixed_amount`.
    pub value: Money,
    pub active: bool,
    pub valid_from: Option<DateTime<Utc>>,
    /// Exclusive: the coupon stops working at this instant.
    pub valid_until: Option<DateTime<Utc>>,
    /// The subtotal an order needs for the coupon to apply.
    pub min_order_amount: Money,
}

/// Why a coupon does not apply to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponRefusal {
    Inactive,
    NotYetValid,
    Expired,
    BelowMinimum(Money),
}

impl CouponTerms {
    /// The discount on `subtotal` at `now`: percentages round half to even to the cent; a
    /// discount never exceeds the subtotal, so a total is never negative.
    pub fn discount(&self, subtotal: Money, now: DateTime<Utc>) -> Result<Money, CouponRefusal> {
        if !self.active {
            return Err(CouponRefusal::Inactive);
        }
        if self.valid_from.is_some_and(|from| now < from) {
            return Err(CouponRefusal::NotYetValid);
        }
        if self.valid_until.is_some_and(|until| now >= until) {
            return Err(CouponRefusal::Expired);
        }
        if subtotal < self.min_order_amount {
            return Err(CouponRefusal::BelowMinimum(self.min_order_amount));
        }
        let discount = match self.kind {
            CouponKind::Percentage => subtotal.percent(self.value),
            CouponKind::FixedAmount => self.value,
        };
        Ok(discount.min(subtotal))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: CouponId,
    /// Unique regardless of case; clients type it at checkout.
    pub code: String,
    pub description: Option<String>,
    pub terms: CouponTerms,
    /// `null`: unlimited.
    pub max_redemptions: Option<i32>,
    /// Orders currently holding a redemption (cancelling an order gives its redemption back).
    pub redemptions: i32,
    pub once_per_client: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCoupon {
    pub code: String,
    pub description: Option<String>,
    pub terms: CouponTerms,
    pub max_redemptions: Option<i32>,
    pub once_per_client: bool,
}

impl NewCoupon {
    /// The coupon as first stored: no redemptions yet.
    pub fn into_coupon(self, now: DateTime<Utc>) -> Coupon {
        Coupon {
            id: CouponId::new(),
            code: self.code,
            description: self.description,
            terms: self.terms,
            max_redemptions: self.max_redemptions,
            redemptions: 0,
            once_per_client: self.once_per_client,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// The code cannot change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CouponChanges {
    pub description: Option<Option<String>>,
    pub kind: Option<CouponKind>,
    pub value: Option<Money>,
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub min_order_amount: Option<Money>,
    pub max_redemptions: Option<Option<i32>>,
    pub once_per_client: Option<bool>,
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn coupon(kind: CouponKind, value: &str) -> CouponTerms {
        CouponTerms {
            kind,
            value: money(value),
            active: true,
            valid_from: None,
            valid_until: None,
            min_order_amount: Money::ZERO,
        }
    }

    #[test]
    fn discounts_are_exact_and_never_exceed_the_subtotal() {
        let now = Utc::now();
        assert_eq!(coupon(CouponKind::Percentage, "10").discount(money("0.25"), now), Ok(money("0.02")));
        assert_eq!(coupon(CouponKind::Percentage, "100").discount(money("9.99"), now), Ok(money("9.99")));
        assert_eq!(coupon(CouponKind::FixedAmount, "50").discount(money("20.00"), now), Ok(money("20.00")));
        assert_eq!(coupon(CouponKind::FixedAmount, "5").discount(money("20.00"), now), Ok(money("5.00")));
    }

    #[test]
    fn coupons_outside_their_terms_are_refused() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        let mut terms = coupon(CouponKind::FixedAmount, "5");
        terms.min_order_amount = money("30");
        assert_eq!(terms.discount(money("29.99"), now), Err(CouponRefusal::BelowMinimum(money("30"))));
        terms.min_order_amount = Money::ZERO;
        terms.valid_from = Some(now + hour);
        assert_eq!(terms.discount(money("10"), now), Err(CouponRefusal::NotYetValid));
        terms.valid_from = None;
        terms.valid_until = Some(now - hour);
        assert_eq!(terms.discount(money("10"), now), Err(CouponRefusal::Expired));
        terms.valid_until = None;
        terms.active = false;
        assert_eq!(terms.discount(money("10"), now), Err(CouponRefusal::Inactive));
    }
}
