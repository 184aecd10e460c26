//! Order rules: the status machine, exact pricing, coupon discounts.

use crate::domain::ids::{ClientId, OrderId, ProductId, StatusChangeId};
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
