//! Catalog records and rules: how stock status is derived and what a stock movement does.

use crate::domain::ids::{CategoryId, OrderId, ProductId, StockMovementId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};

text_enum!(
    /// Derived on read: `critical` at or below the reorder point, `low` up to 1.5 × the reorder
    /// point, `optimal` above.
    StockStatus { Critical => "critical", Low => "low", Optimal => "optimal" }
);

impl StockStatus {
    pub fn of(stock: i32, reorder_point: i32) -> Self {
        // Integer arithmetic for 1.5 ×: stock ≤ 1.5·r ⇔ 2·stock ≤ 3·r.
        if stock <= reorder_point {
            StockStatus::Critical
        } else if 2 * i64::from(stock) <= 3 * i64::from(reorder_point) {
            StockStatus::Low
        } else {
            StockStatus::Optimal
        }
    }
}

text_enum!(
    /// `in` adds `quantity` units, `out` removes them, `adjust` sets the stock to `quantity`
    /// (a physical count).
    MovementKind { In => "in", Out => "out", Adjust => "adjust" }
);

/// Most units one product can hold (the schema's limit too).
pub const MAX_STOCK: i32 = 1_000_000_000;

/// Why a movement cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementRefusal {
    /// An `out` of more than is on hand.
    Insufficient { available: i32 },
    /// The stock would exceed `MAX_STOCK`.
    AboveLimit,
}

impl MovementKind {
    /// The signed change this movement makes to `stock` (`quantity` is 0..=MAX_STOCK).
    pub fn delta(self, stock: i32, quantity: i32) -> Result<i32, MovementRefusal> {
        let delta = match self {
            MovementKind::In => quantity,
            MovementKind::Out if quantity > stock => return Err(MovementRefusal::Insufficient { available: stock }),
            MovementKind::Out => -quantity,
            MovementKind::Adjust => quantity - stock,
        };
        if i64::from(stock) + i64::from(delta) > i64::from(MAX_STOCK) {
            return Err(MovementRefusal::AboveLimit);
        }
        Ok(delta)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub category_id: Option<CategoryId>,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub price: Money,
    /// Units on hand; changed only by stock movements (manual, orders, cancellations).
    pub stock: i32,
    pub reorder_point: i32,
    pub stock_status: StockStatus,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

/// One change of a product's stock and the stock it left.
#[derive(Debug, Clone, PartialEq)]
pub struct StockMovement {
    pub id: StockMovementId,
    pub product_id: ProductId,
    pub kind: MovementKind,
    /// As requested: units in or out, or the counted stock for `adjust`.
    pub quantity: i32,
    /// The signed change it made.
    pub delta: i32,
    pub resulting_stock: i32,
    pub reason: String,
    /// The order that caused it, for order and cancellation movements.
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

/// Orders of `GET /products`: by creation, name or price, each either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProductSort {
    #[default]
    CreatedAt,
    CreatedAtDesc,
    Name,
    NameDesc,
    Price,
    PriceDesc,
}

/// Filters of `GET /products`; `search` matches name, slug or description, ignoring case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFilter {
    pub category_id: Option<CategoryId>,
    pub active: Option<bool>,
    pub stock_status: Option<StockStatus>,
    pub search: Option<String>,
}

/// A new category; the slug is derived from the name when absent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoryChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
}

/// A new product; its initial stock is recorded as the first `in` movement.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub category_id: Option<CategoryId>,
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub price: Money,
    pub stock: i32,
    pub reorder_point: i32,
    pub active: bool,
}

/// Stock never changes through a patch: only movements change it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChanges {
    pub category_id: Option<Option<CategoryId>>,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<Money>,
    pub reorder_point: Option<i32>,
    pub active: Option<bool>,
}

/// A manual stock movement.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMovement {
    pub kind: MovementKind,
    pub quantity: i32,
    pub reason: String,
}

/// The slug a name gives when none is sent: `"Dovetail Kit (2)"` → `"dovetail-kit-2"`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(100).collect::<String>().trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slugify("Dovetail Kit (2)"), "dovetail-kit-2");
        assert_eq!(slugify("  ¡Olé!  "), "ol");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn stock_status_follows_the_reorder_point() {
        assert_eq!(StockStatus::of(10, 10), StockStatus::Critical);
        assert_eq!(StockStatus::of(0, 0), StockStatus::Critical);
        assert_eq!(StockStatus::of(15, 10), StockStatus::Low);
        assert_eq!(StockStatus::of(16, 10), StockStatus::Optimal);
        assert_eq!(StockStatus::of(1, 0), StockStatus::Optimal);
    }

    #[test]
    fn movements_change_stock_by_their_kind() {
        assert_eq!(MovementKind::In.delta(3, 5), Ok(5));
        assert_eq!(MovementKind::Out.delta(3, 3), Ok(-3));
        assert_eq!(MovementKind::Out.delta(3, 4), Err(MovementRefusal::Insufficient { available: 3 }));
        assert_eq!(MovementKind::Adjust.delta(3, 10), Ok(7));
        assert_eq!(MovementKind::Adjust.delta(3, 0), Ok(-3));
        assert_eq!(MovementKind::In.delta(MAX_STOCK, 1), Err(MovementRefusal::AboveLimit));
    }
}
