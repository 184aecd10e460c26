//! A customer's server-side cart: what they mean to buy, priced as the catalog stands now. Nothing
//! is reserved by a cart: checkout takes the stock and prices again, in the order's transaction.

use crate::domain::catalog::Product;
use crate::domain::coupons::{Coupon, CouponRefusal};
use crate::domain::ids::ClientId;
use crate::domain::money::Money;
use chrono::{DateTime, Utc};

/// Most units of one product in a cart (the schema's limit too).
pub const MAX_QUANTITY: i32 = 1000;
/// Most lines in one cart.
pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Cart {
    pub client_id: ClientId,
    pub coupon_code: Option<String>,
    /// Oldest first.
    pub lines: Vec<CartLine>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CartLine {
    /// As it is now.
    pub product: Product,
    pub quantity: i32,
    pub added_at: DateTime<Utc>,
}

text_enum!(
    /// Why a line could not be bought as it stands: the product is no longer for sale, or fewer
    /// units are on hand than the line asks.
    LineIssue { Inactive => "inactive", InsufficientStock => "insufficient_stock" }
);

impl CartLine {
    pub fn line_total(&self) -> Money {
        self.product.price.times(self.quantity.unsigned_abs())
    }

    pub fn issue(&self) -> Option<LineIssue> {
        if !self.product.active {
            Some(LineIssue::Inactive)
        } else if self.product.stock < self.quantity {
            Some(LineIssue::InsufficientStock)
        } else {
            None
        }
    }
}

/// The cart's totals as checkout would make them now (a coupon that would refuse gives no
/// discount, and says why).
#[derive(Debug, Clone, PartialEq)]
pub struct CartTotals {
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub coupon_refusal: Option<CouponRefusal>,
    /// Whether checkout would take it now: lines, none with an issue, a coupon that applies.
    pub ready: bool,
}

impl Cart {
    /// The totals with `coupon` (the cart's code, looked up; `None` when it names no coupon).
    pub fn totals(&self, coupon: Option<&Coupon>, now: DateTime<Utc>) -> CartTotals {
        let subtotal: Money = self.lines.iter().filter(|l| l.product.active).map(CartLine::line_total).sum();
        let (discount, coupon_refusal) = match coupon.map(|c| c.terms.discount(subtotal, now)) {
            Some(Ok(discount)) => (discount, None),
            Some(Err(refusal)) => (Money::ZERO, Some(refusal)),
            None => (Money::ZERO, None),
        };
        let coupon_known = self.coupon_code.is_none() || coupon.is_some();
        let ready = !self.lines.is_empty()
            && self.lines.iter().all(|l| l.issue().is_none())
            && coupon_refusal.is_none()
            && coupon_known;
        CartTotals { subtotal, discount, total: subtotal.saturating_sub(discount), coupon_refusal, ready }
    }
}
