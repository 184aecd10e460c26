//! Catalog records and rules: how stock status is derived and what a stock movement does.

use crate::domain::ids::{CategoryId, OrderId, ProductId, StockMovementId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

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

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Category {
    pub id: CategoryId,
    #[schema(example = "Woodworking kits")]
    pub name: String,
    #[schema(example = "woodworking-kits")]
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub category_id: Option<CategoryId>,
    #[schema(example = "Dovetail starter kit")]
    pub name: String,
    #[schema(example = "dovetail-starter-kit")]
    pub slug: String,
    pub description: Option<String>,
    pub price: Money,
    /// Units on hand; changed only by stock movements (manual, orders, cancellations).
    #[schema(example = 42)]
    pub stock: i32,
    #[schema(example = 10)]
    pub reorder_point: i32,
    pub stock_status: StockStatus,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One change of a product's stock and the stock it left.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StockMovement {
    pub id: StockMovementId,
    pub product_id: ProductId,
    pub kind: MovementKind,
    /// As requested: units in or out, or the counted stock for `adjust`.
    pub quantity: i32,
    /// The signed change it made.
    #[schema(example = -2)]
    pub delta: i32,
    pub resulting_stock: i32,
    #[schema(example = "order 0192f5e2-7a1c-7cc0-b1d4-2f1e9a6c1a10")]
    pub reason: String,
    /// The order that caused it, for order and cancellation movements.
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
