//! Catalog: categories, products and their stock movements.
//!
//! Stock changes only through movements, each recorded with the stock it left, so the history
//! explains every unit: manual `in`/`out`/`adjust`, an initial `in` when a product is created
//! with stock, `out` for each order line and `in` when an order is cancelled.

use super::constraints::{conflict, gone, invalid, length, out_of_range, Meaning, Rule};
use super::idempotency::recovery_point;
use super::{clock, cursor_position, id_page, AppError, AppResult, AppState, Found, Keyed};
use super::{delete_row, insert_row, update_row};
use crate::domain::catalog::{
    slugify, Category, CategoryChanges, MovementKind, MovementRefusal, NewCategory, NewMovement, NewProduct, Product,
    ProductChanges, ProductFilter, ProductSort, StockMovement, StockStatus, MAX_STOCK,
};
use crate::domain::events::EventType;
use crate::domain::ids::{CategoryId, Located, OrderId, ProductId, StockMovementId};
use crate::domain::page::{encode_cursor, Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::store::pg::catalog::{self as repo, ProductKey, ProductPosition};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const STOCK_LIMIT: &str = "a product's stock cannot exceed 1000000000 units";

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("categories_slug_key", conflict("slug_taken", Some("slug"), "this slug is taken")),
    Rule::Unique("categories_name_key", conflict("name_taken", Some("name"), "a category with this name exists")),
    Rule::Check("categories_name_check", length("name", 1, 100)),
    Rule::Check(
        "categories_slug_check",
        invalid("slug", "invalid_slug", "must be lowercase words of a-z and 0-9 joined by dashes"),
    ),
    Rule::Check("categories_description_check", length("description", 0, 1000)),
    Rule::Unique("products_slug_key", conflict("slug_taken", Some("slug"), "this slug is taken")),
    Rule::Check("products_name_check", length("name", 1, 200)),
    Rule::Check(
        "products_slug_check",
        invalid("slug", "invalid_slug", "must be lowercase words of a-z and 0-9 joined by dashes"),
    ),
    Rule::Check("products_description_check", length("description", 0, 5000)),
    Rule::Check("products_price_check", out_of_range("price", "must be more than 0 and at most 1000000.00")),
    Rule::Check("products_reorder_point_check", out_of_range("reorder_point", "must be 0 or more")),
    Rule::Check(
        "products_stock_not_negative",
        conflict("insufficient_stock", Some("quantity"), "not enough units are in stock"),
    ),
    Rule::Check("products_stock_within_limit", conflict("stock_limit", None, STOCK_LIMIT)),
    Rule::foreign_key(
        "products_category_id_fkey",
        invalid("category_id", "unknown_category", "no category has this id"),
        Some(conflict("category_in_use", None, "products still belong to this category")),
    ),
    Rule::Check("stock_movements_kind_check", invalid("kind", "invalid", "must be in, out or adjust")),
    Rule::Check("stock_movements_quantity_check", out_of_range("quantity", "must be 0 or more")),
    Rule::Check("stock_movements_reason_check", length("reason", 1, 500)),
    Rule::Check(
        "stock_movements_resulting_stock_check",
        conflict("insufficient_stock", Some("quantity"), "not enough units are in stock"),
    ),
    Rule::foreign_key("stock_movements_product_id_fkey", gone("product"), None),
    Rule::foreign_key("stock_movements_order_id_fkey", gone("order"), None),
];

/// Ordered products are kept for their orders' history: deactivate them instead.
pub(crate) const PRODUCT_IN_USE: Meaning =
    conflict("product_in_use", None, "orders include this product; deactivate it instead");

impl Keyed for Category {
    fn key(&self) -> Uuid {
        self.id.0
    }
}

impl Keyed for StockMovement {
    fn key(&self) -> Uuid {
        self.id.0
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
enum ProductCursor {
    #[serde(rename = "c")]
    Created { id: Uuid },
    #[serde(rename = "n")]
    Name { v: String, id: Uuid },
    #[serde(rename = "p")]
    Price { v: rust_decimal::Decimal, id: Uuid },
}

/// The slug sent, or one derived from the name (which must then yield one).
fn slug_or_derived(slug: Option<String>, name: &str, max: usize) -> AppResult<String> {
    match slug {
        Some(slug) => Ok(slug),
        None => {
            let derived: String = slugify(name).chars().take(max).collect();
            let derived = derived.trim_end_matches('-').to_string();
            if derived.is_empty() {
                Err(AppError::invalid(
                    "slug",
                    "required",
                    "the name has no letters or digits to derive a slug from; send one",
                ))
            } else {
                Ok(derived)
            }
        }
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_category(state: &AppState, input: NewCategory) -> AppResult<Category> {
    let now = clock::now();
    let category = Category {
        version: 1,
        id: CategoryId::new(),
        slug: slug_or_derived(input.slug, &input.name, 100)?,
        name: input.name,
        description: input.description,
        created_at: now,
        updated_at: now,
    };
    let path = category.id.path();
    insert_row(state, category, path, repo::insert_category).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_category(state: &AppState, id: CategoryId) -> AppResult<Category> {
    state.db.run(move |conn| repo::find_category(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_categories(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<Category>> {
    id_page(state, page, move |conn, after, limit| Ok(repo::list_categories(conn, search.as_deref(), after, limit)?))
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_category(
    state: &AppState,
    id: CategoryId,
    changes: CategoryChanges,
    precondition: Precondition,
) -> AppResult<Category> {
    update_row(state, id, changes, precondition, repo::lock_category, repo::update_category).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_category(state: &AppState, id: CategoryId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock_category, repo::delete_category).await
}

/// A manual movement of `product` (or its initial stock), stamped `at`.
pub(crate) fn movement(
    product: ProductId,
    kind: MovementKind,
    quantity: i32,
    delta: i32,
    resulting_stock: i32,
    reason: String,
    at: DateTime<Utc>,
) -> StockMovement {
    StockMovement {
        id: StockMovementId::new(),
        product_id: product,
        kind,
        quantity,
        delta,
        resulting_stock,
        reason,
        order_id: None,
        created_at: at,
    }
}

/// The movement an order makes: `out` when it is placed, `in` when it is cancelled.
pub(crate) fn order_movement(
    product: ProductId,
    order: OrderId,
    kind: MovementKind,
    quantity: i32,
    resulting_stock: i32,
    at: DateTime<Utc>,
) -> StockMovement {
    let (delta, reason) = match kind {
        MovementKind::Out => (-quantity, format!("order {order}")),
        _ => (quantity, format!("order {order} cancelled")),
    };
    StockMovement { order_id: Some(order), ..movement(product, kind, quantity, delta, resulting_stock, reason, at) }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_product(state: &AppState, input: NewProduct) -> AppResult<Product> {
    let now = clock::now();
    let product = Product {
        version: 1,
        id: ProductId::new(),
        category_id: input.category_id,
        slug: slug_or_derived(input.slug, &input.name, 200)?,
        name: input.name,
        description: input.description,
        price: input.price,
        stock: input.stock,
        reorder_point: input.reorder_point,
        stock_status: crate::domain::catalog::StockStatus::of(input.stock, input.reorder_point),
        active: input.active,
        created_at: now,
        updated_at: now,
    };
    state
        .db
        .tx(move |conn| {
            let created = repo::insert_product(conn, &product)?;
            recovery_point(created.id.path());
            if product.stock > 0 {
                let stock = product.stock;
                let initial = movement(created.id, MovementKind::In, stock, stock, stock, "initial stock".into(), now);
                repo::insert_movements(conn, &[initial])?;
            }
            Ok(created)
        })
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_product(state: &AppState, id: ProductId) -> AppResult<Product> {
    state.db.run(move |conn| repo::find_product(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_products(
    state: &AppState,
    filter: ProductFilter,
    sort: ProductSort,
    page: PageRequest,
) -> AppResult<Page<Product>> {
    let (key, descending) = match sort {
        ProductSort::CreatedAt => (ProductKey::Created, false),
        ProductSort::CreatedAtDesc => (ProductKey::Created, true),
        ProductSort::Name => (ProductKey::Name, false),
        ProductSort::NameDesc => (ProductKey::Name, true),
        ProductSort::Price => (ProductKey::Price, false),
        ProductSort::PriceDesc => (ProductKey::Price, true),
    };
    let after = match (cursor_position::<ProductCursor>(&page)?, key) {
        (None, _) => None,
        (Some(ProductCursor::Created { id }), ProductKey::Created) => Some(ProductPosition::Created(id)),
        (Some(ProductCursor::Name { v, id }), ProductKey::Name) => Some(ProductPosition::Name(v, id)),
        (Some(ProductCursor::Price { v, id }), ProductKey::Price) => Some(ProductPosition::Price(v, id)),
        _ => return Err(super::invalid_cursor()),
    };
    let limit = page.overfetch();
    let rows = state
        .db
        .run(move |conn| Ok(repo::list_products(conn, &filter, key, descending, after.as_ref(), limit)?))
        .await?;
    Ok(Page::from_overfetch(rows, limit - 1, |product| {
        encode_cursor(&match key {
            ProductKey::Created => ProductCursor::Created { id: product.id.0 },
            ProductKey::Name => ProductCursor::Name { v: product.name.clone(), id: product.id.0 },
            ProductKey::Price => ProductCursor::Price { v: product.price.amount(), id: product.id.0 },
        })
    }))
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_product(
    state: &AppState,
    id: ProductId,
    changes: ProductChanges,
    precondition: Precondition,
) -> AppResult<Product> {
    update_row(state, id, changes, precondition, repo::lock_product, repo::update_product).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_product(state: &AppState, id: ProductId, precondition: Precondition) -> AppResult<()> {
    delete_row(state, id, precondition, repo::lock_product, repo::delete_product).await
}

/// Applies a manual movement under the product's row lock, so concurrent movements and orders
/// see each other's results. An `out` beyond the stock is a 409 naming what is available.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_movement(state: &AppState, id: ProductId, input: NewMovement) -> AppResult<StockMovement> {
    if input.kind != MovementKind::Adjust && input.quantity == 0 {
        return Err(AppError::invalid("quantity", "out_of_range", "must be at least 1 for in and out"));
    }
    let now = clock::now();
    state.db.tx(move |conn| apply_movement(conn, id, input, now)).await
}

fn apply_movement(
    conn: &mut PgConnection,
    id: ProductId,
    input: NewMovement,
    now: DateTime<Utc>,
) -> AppResult<StockMovement> {
    let product = repo::lock_product(conn, id)?.found(id)?;
    let delta = input.kind.delta(product.stock, input.quantity).map_err(|refusal| match refusal {
        MovementRefusal::Insufficient { available } => AppError::conflict_with(
            "insufficient_stock",
            Some("quantity".into()),
            format!("only {available} units of {} are in stock", product.name),
            serde_json::json!({"product_id": id, "requested": input.quantity, "available": available}),
        ),
        MovementRefusal::AboveLimit => {
            AppError::conflict("stock_limit", Some("quantity"), format!("stock cannot exceed {MAX_STOCK} units"))
        }
    })?;
    let resulting = product.stock + delta;
    repo::set_stock(conn, id, resulting, now)?;
    let after = Product {
        stock: resulting,
        stock_status: StockStatus::of(resulting, product.reorder_point),
        updated_at: now,
        ..product.clone()
    };
    announce_stock_change(conn, &after, product.stock)?;
    let movement = movement(id, input.kind, input.quantity, delta, resulting, input.reason, now);
    repo::insert_movements(conn, std::slice::from_ref(&movement))?;
    Ok(movement)
}

/// `stock.low` when a change of stock (from `before` to the product's stock now) took it into
/// `critical`; called under the product's row lock, in the transaction of the change.
pub(crate) fn announce_stock_change(conn: &mut PgConnection, product: &Product, before: i32) -> AppResult<()> {
    let was = StockStatus::of(before, product.reorder_point);
    if product.stock_status == StockStatus::Critical && was != StockStatus::Critical {
        super::events::record(conn, EventType::StockLow, product)?;
    }
    Ok(())
}

/// A product's stock history, newest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_movements(state: &AppState, id: ProductId, page: PageRequest) -> AppResult<Page<StockMovement>> {
    id_page(state, page, move |conn, before, limit| {
        repo::product_exists(conn, id)?.then_some(()).found(id)?;
        Ok(repo::list_movements(conn, id, before, limit)?)
    })
    .await
}
