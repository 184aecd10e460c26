//! Order rules: the status machine, exact pricing, coupon discounts.

use crate::domain::ids::{ClientId, CouponId, OrderId, ProductId, StatusChangeId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};

text_enum!(
    /// `pending` → `confirmed` → `processing` → `shipped` → `delivered`; `cancelled` from
    /// `pending` or `confirmed` only. Payments move `pending` to `confirmed` once the order is
    /// paid in full; a full refund cancels an order not yet shipped and makes a shipped or
    /// delivered one `refunded`.
    OrderStatus {
        Pending => "pending",
        Confirmed => "confirmed",
        Processing => "processing",
        Shipped => "shipped",
        Delivered => "delivered",
        Cancelled => "cancelled",
        Refunded => "refunded",
    }
);

impl OrderStatus {
    /// The statuses this one may move to.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Pending => &[Confirmed, Cancelled],
            Confirmed => &[Processing, Cancelled],
            Processing => &[Shipped],
            Shipped => &[Delivered],
            Delivered | Cancelled | Refunded => &[],
        }
    }

    pub fn can_become(self, to: OrderStatus) -> bool {
        self.next().contains(&to)
    }

    /// Whether the order still takes payments (its balance decides how much).
    pub fn takes_payments(self) -> bool {
        !matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded)
    }

    /// Whether the goods have left: a full refund then ends the order as `refunded` instead of
    /// cancelling it (nothing goes back into stock).
    pub fn shipped(self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::Delivered)
    }
}

text_enum!(
    /// How the client pays.
    PaymentMethod { Card => "card", BankTransfer => "bank_transfer", Cash => "cash", Paypal => "paypal" }
);

text_enum!(
    /// `percentage` takes `value` % off the subtotal; `fixed_amount` takes `value` off.
    CouponKind { Percentage => "percentage", FixedAmount => "fixed_amount" }
);

/// A coupon as the pricing rules see it.
#[derive(Debug, Clone)]
pub struct CouponTerms {
    pub kind: CouponKind,
    pub value: Money,
    pub active: bool,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
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

/// One priced line of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub product_id: ProductId,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

impl PricedLine {
    pub fn new(product_id: ProductId, unit_price: Money, quantity: u32) -> Self {
        PricedLine { product_id, unit_price, quantity, line_total: unit_price.times(quantity) }
    }
}

/// Requested lines with the same product twice are merged (quantities added), in product id
/// order — the order in which their stock rows are locked, so concurrent orders cannot deadlock.
pub fn merge_lines(lines: &[OrderLine]) -> Vec<OrderLine> {
    let mut merged: std::collections::BTreeMap<ProductId, u32> = std::collections::BTreeMap::new();
    for line in lines {
        let entry = merged.entry(line.product_id).or_default();
        *entry = entry.saturating_add(line.quantity);
    }
    merged.into_iter().map(|(product_id, quantity)| OrderLine { product_id, quantity }).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: CouponId,
    /// Unique regardless of case; clients type it at checkout.
    pub code: String,
    pub description: Option<String>,
    pub kind: CouponKind,
    /// Percent off (up to 100) for `percentage`, amount off for `fixed_amount`.
    pub value: Money,
    pub valid_from: Option<DateTime<Utc>>,
    /// Exclusive: the coupon stops working at this instant.
    pub valid_until: Option<DateTime<Utc>>,
    /// The subtotal an order needs for the coupon to apply.
    pub min_order_amount: Money,
    /// `null`: unlimited.
    pub max_redemptions: Option<i32>,
    /// Orders currently holding a redemption (cancelling an order gives its redemption back).
    pub redemptions: i32,
    pub once_per_client: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Coupon {
    pub fn terms(&self) -> CouponTerms {
        CouponTerms {
            kind: self.kind,
            value: self.value,
            active: self.active,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            min_order_amount: self.min_order_amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCoupon {
    pub code: String,
    pub description: Option<String>,
    pub kind: CouponKind,
    pub value: Money,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_order_amount: Money,
    pub max_redemptions: Option<i32>,
    pub once_per_client: bool,
    pub active: bool,
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

/// One requested line: a product and how many units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub quantity: u32,
}

/// An order as a client places it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub client_id: ClientId,
    pub lines: Vec<OrderLine>,
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
    pub coupon_code: Option<String>,
}

/// Filters of `GET /orders` (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    pub client_id: Option<ClientId>,
    pub status: Option<OrderStatus>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_until: Option<DateTime<Utc>>,
}

/// One line of an order, with the product as it was sold.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub product_id: ProductId,
    /// Snapshot at the time of the order.
    pub product_name: String,
    pub product_slug: String,
    /// Snapshot at the time of the order.
    pub unit_price: Money,
    pub quantity: i32,
    /// `unit_price × quantity`, exact.
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub id: StatusChangeId,
    /// `null` for the order's creation.
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub client_id: ClientId,
    pub status: OrderStatus,
    /// The statuses `POST /orders/{id}/status` accepts now.
    pub allowed_transitions: Vec<OrderStatus>,
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
    pub coupon_code: Option<String>,
    /// Sum of the line totals.
    pub subtotal: Money,
    pub discount: Money,
    /// `subtotal - discount`, never negative.
    pub total: Money,
    /// Succeeded payments less refunds.
    pub amount_paid: Money,
    /// Refunded of it: credited, so no longer owed (a refund is not a new debt).
    pub amount_refunded: Money,
    pub items: Vec<OrderItem>,
    /// Oldest first; the first entry is the order's creation.
    pub status_history: Vec<StatusChange>,
    /// Increases with every status change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// What is still owed: the total less what was refunded (credited) and paid; nothing once
    /// cancelled or refunded.
    pub fn balance(&self) -> Money {
        if self.status.takes_payments() {
            self.total.saturating_sub(self.amount_refunded).saturating_sub(self.amount_paid)
        } else {
            Money::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

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
    fn the_status_machine_allows_only_its_transitions() {
        use OrderStatus::*;
        let allowed = [
            (Pending, Confirmed),
            (Pending, Cancelled),
            (Confirmed, Processing),
            (Confirmed, Cancelled),
            (Processing, Shipped),
            (Shipped, Delivered),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(from.can_become(*to), allowed.contains(&(*from, *to)), "{from} -> {to}");
            }
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

    #[test]
    fn repeated_products_are_merged_in_id_order() {
        let (a, b) = (ProductId(Uuid::from_u128(1)), ProductId(Uuid::from_u128(2)));
        let line = |product_id, quantity| OrderLine { product_id, quantity };
        assert_eq!(merge_lines(&[line(b, 1), line(a, 2), line(b, 3)]), vec![line(a, 2), line(b, 4)]);
    }

    #[test]
    fn line_totals_multiply_exactly() {
        assert_eq!(PricedLine::new(ProductId(Uuid::nil()), money("0.10"), 3).line_total, money("0.30"));
    }
}
