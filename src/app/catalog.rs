//! Catalog: categories, products and their stock movements.
//!
//! Stock changes only through movements, each recorded with the stock it left, so the history
//! explains every unit: manual `in`/`out`/`adjust`, an initial `in` when a product is created
//! with stock, `out` for each order line and `in` when an order is cancelled.

use super::companies::decode_id_cursor;
use super::validation::{double_option, slugify, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::catalog::{Category, MovementKind, MovementRefusal, Product, StockMovement, StockStatus, MAX_STOCK};
use crate::domain::ids::{CategoryId, OrderId, ProductId, StockMovementId};
use crate::domain::money::Money;
use crate::domain::page::{decode_cursor, encode_cursor, Page};
use crate::store::pg::catalog::{self as repo, ProductFilter, ProductPosition, ProductSort, StockBand};
use crate::store::pg::models::{CategoryChangeset, CategoryRow, ProductChangeset, ProductRow, StockMovementRow};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 100), custom(function = super::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 100,
        example = "Woodworking kits"
    )]
    pub name: String,
    /// Unique; derived from `name` when absent.
    #[validate(length(max = 100), custom(function = super::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100, example = "woodworking-kits")]
    pub slug: Option<String>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

/// Only the fields present change; `null` clears `description`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    #[validate(length(min = 1, max = 100), custom(function = super::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(length(max = 100), custom(function = super::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 1000))]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub category_id: Option<Uuid>,
    #[validate(length(min = 1, max = 200), custom(function = super::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Dovetail starter kit"
    )]
    pub name: String,
    /// Unique; derived from `name` when absent.
    #[validate(length(max = 200), custom(function = super::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 200, example = "dovetail-starter-kit")]
    pub slug: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// More than 0, at most 1000000.00.
    #[validate(custom(function = super::validation::price))]
    #[schema(example = "24.90")]
    pub price: Money,
    /// Initial stock (default 0), recorded as the first `in` movement.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 40)]
    pub stock: Option<i32>,
    /// Default 0.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 10)]
    pub reorder_point: Option<i32>,
    /// Default `true`; inactive products cannot be ordered.
    pub active: Option<bool>,
}

/// Only the fields present change; `null` clears `category_id` or `description`. Stock changes
/// through `/stock-movements` only.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub category_id: Option<Option<Uuid>>,
    #[validate(length(min = 1, max = 200), custom(function = super::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(length(max = 200), custom(function = super::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 200)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 5000))]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    #[validate(custom(function = super::validation::price))]
    pub price: Option<Money>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub reorder_point: Option<i32>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    pub kind: MovementKind,
    /// Units in or out (at least 1), or the counted stock for `adjust` (0 or more).
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 12)]
    pub quantity: i32,
    #[validate(length(min = 1, max = 500), custom(function = super::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 500,
        example = "supplier delivery 2026-11"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ProductListSort {
    #[default]
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "price")]
    Price,
    #[serde(rename = "-price")]
    PriceDesc,
}

/// Filters and sort for `GET /products`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListParams {
    pub category_id: Option<Uuid>,
    pub active: Option<bool>,
    #[param(inline)]
    pub stock_status: Option<StockStatus>,
    /// Case-insensitive text search in name, slug and description.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `created_at` (default), `-created_at`, `name`, `-name`, `price` or `-price`.
    #[param(inline)]
    pub sort: Option<ProductListSort>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
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

pub async fn create_category(state: &AppState, input: CategoryInput) -> AppResult<Category> {
    validate(&input)?;
    let now = super::now();
    let row = CategoryRow {
        id: CategoryId::new().0,
        slug: slug_or_derived(input.slug, &input.name, 100)?,
        name: input.name,
        description: input.description,
        created_at: now,
        updated_at: now,
    };
    state.db.run(move |conn| Ok(repo::insert_category(conn, &row)?.into())).await
}

pub async fn get_category(state: &AppState, id: CategoryId) -> AppResult<Category> {
    state
        .db
        .run(move |conn| {
            repo::find_category(conn, id.0)?.map(Category::from).ok_or_else(|| AppError::not_found("category", id))
        })
        .await
}

pub async fn list_categories(
    state: &AppState,
    search: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<Category>> {
    let after = decode_id_cursor(cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok::<_, AppError>(repo::list_categories(conn, search.as_deref(), after, limit + 1)?))
        .await?;
    Ok(Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id)).map(Category::from))
}

pub async fn update_category(state: &AppState, id: CategoryId, patch: CategoryPatch) -> AppResult<Category> {
    validate(&patch)?;
    let changes = CategoryChangeset {
        name: patch.name,
        slug: patch.slug,
        description: patch.description,
        updated_at: Some(super::now()),
    };
    state
        .db
        .run(move |conn| {
            repo::update_category(conn, id.0, &changes)?
                .map(Category::from)
                .ok_or_else(|| AppError::not_found("category", id))
        })
        .await
}

pub async fn delete_category(state: &AppState, id: CategoryId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                repo::delete_category(conn, id.0),
                "category",
                id,
                "category_in_use",
                "products still belong to this category",
            )
        })
        .await
}

pub async fn create_product(state: &AppState, input: ProductInput) -> AppResult<Product> {
    validate(&input)?;
    let now = super::now();
    let stock = input.stock.unwrap_or(0);
    let row = ProductRow {
        id: ProductId::new().0,
        category_id: input.category_id,
        slug: slug_or_derived(input.slug, &input.name, 200)?,
        name: input.name,
        description: input.description,
        price: input.price.amount(),
        stock,
        reorder_point: input.reorder_point.unwrap_or(0),
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let product = repo::insert_product(conn, &row)?;
                if stock > 0 {
                    let initial = movement(product.id, MovementKind::In, stock, stock, stock, "initial stock", None);
                    repo::insert_movements(conn, &[initial])?;
                }
                Ok(product.into())
            })
        })
        .await
}

pub async fn get_product(state: &AppState, id: ProductId) -> AppResult<Product> {
    state
        .db
        .run(move |conn| {
            repo::find_product(conn, id.0)?.map(Product::from).ok_or_else(|| AppError::not_found("product", id))
        })
        .await
}

pub async fn list_products(state: &AppState, params: ProductListParams) -> AppResult<Page<Product>> {
    let limit = super::page_limit(params.limit, params.q.as_deref())?;
    let (sort, descending) = match params.sort.unwrap_or_default() {
        ProductListSort::CreatedAt => (ProductSort::Created, false),
        ProductListSort::CreatedAtDesc => (ProductSort::Created, true),
        ProductListSort::Name => (ProductSort::Name, false),
        ProductListSort::NameDesc => (ProductSort::Name, true),
        ProductListSort::Price => (ProductSort::Price, false),
        ProductListSort::PriceDesc => (ProductSort::Price, true),
    };
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(match (decode_cursor::<ProductCursor>(text), sort) {
            (Some(ProductCursor::Created { id }), ProductSort::Created) => ProductPosition::Created(id),
            (Some(ProductCursor::Name { v, id }), ProductSort::Name) => ProductPosition::Name(v, id),
            (Some(ProductCursor::Price { v, id }), ProductSort::Price) => ProductPosition::Price(v, id),
            _ => return Err(super::invalid_cursor()),
        }),
    };
    let filter = ProductFilter {
        category_id: params.category_id,
        active: params.active,
        stock: params.stock_status.map(|status| match status {
            StockStatus::Critical => StockBand::Critical,
            StockStatus::Low => StockBand::Low,
            StockStatus::Optimal => StockBand::Optimal,
        }),
        search: params.q.filter(|q| !q.trim().is_empty()),
    };
    let rows = state
        .db
        .run(move |conn| {
            Ok::<_, AppError>(repo::list_products(conn, &filter, sort, descending, after.as_ref(), limit + 1)?)
        })
        .await?;
    Ok(Page::from_overfetch(rows, limit, |row| {
        encode_cursor(&match sort {
            ProductSort::Created => ProductCursor::Created { id: row.id },
            ProductSort::Name => ProductCursor::Name { v: row.name.clone(), id: row.id },
            ProductSort::Price => ProductCursor::Price { v: row.price, id: row.id },
        })
    })
    .map(Product::from))
}

pub async fn update_product(state: &AppState, id: ProductId, patch: ProductPatch) -> AppResult<Product> {
    validate(&patch)?;
    let changes = ProductChangeset {
        category_id: patch.category_id,
        name: patch.name,
        slug: patch.slug,
        description: patch.description,
        price: patch.price.map(Money::amount),
        reorder_point: patch.reorder_point,
        active: patch.active,
        updated_at: Some(super::now()),
    };
    state
        .db
        .run(move |conn| {
            repo::update_product(conn, id.0, &changes)?
                .map(Product::from)
                .ok_or_else(|| AppError::not_found("product", id))
        })
        .await
}

pub async fn delete_product(state: &AppState, id: ProductId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                repo::delete_product(conn, id.0),
                "product",
                id,
                "product_in_use",
                "orders include this product; deactivate it instead",
            )
        })
        .await
}

/// A movement row for `product`, stamped now.
pub(crate) fn movement(
    product: Uuid,
    kind: MovementKind,
    quantity: i32,
    delta: i32,
    resulting_stock: i32,
    reason: &str,
    order: Option<OrderId>,
) -> StockMovementRow {
    StockMovementRow {
        id: StockMovementId::new().0,
        product_id: product,
        kind: kind.as_str().to_string(),
        quantity,
        delta,
        resulting_stock,
        reason: reason.to_string(),
        order_id: order.map(|o| o.0),
        created_at: super::now(),
    }
}

/// Applies a manual movement under the product's row lock, so concurrent movements and orders
/// see each other's results. An `out` beyond the stock is a 409 naming what is available.
pub async fn record_movement(state: &AppState, id: ProductId, input: MovementInput) -> AppResult<StockMovement> {
    validate(&input)?;
    if input.kind != MovementKind::Adjust && input.quantity == 0 {
        return Err(AppError::invalid("quantity", "out_of_range", "must be at least 1 for in and out"));
    }
    state.db.run(move |conn| conn.transaction(|conn| apply_movement(conn, id, &input))).await
}

fn apply_movement(conn: &mut PgConnection, id: ProductId, input: &MovementInput) -> AppResult<StockMovement> {
    let product = repo::lock_product(conn, id.0)?.ok_or_else(|| AppError::not_found("product", id))?;
    let delta = input.kind.delta(product.stock, input.quantity).map_err(|refusal| match refusal {
        MovementRefusal::Insufficient { available } => AppError::conflict(
            "insufficient_stock",
            Some("quantity"),
            format!("only {available} units of {} are in stock", product.name),
        ),
        MovementRefusal::AboveLimit => {
            AppError::conflict("stock_limit", Some("quantity"), format!("stock cannot exceed {MAX_STOCK} units"))
        }
    })?;
    let resulting = product.stock + delta;
    repo::set_stock(conn, id.0, resulting)?;
    let row = movement(id.0, input.kind, input.quantity, delta, resulting, &input.reason, None);
    repo::insert_movements(conn, std::slice::from_ref(&row))?;
    Ok(row.into_domain()?)
}

/// A product's stock history, newest first.
pub async fn list_movements(
    state: &AppState,
    id: ProductId,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<StockMovement>> {
    let before = decode_id_cursor(cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| {
            if repo::find_product(conn, id.0)?.is_none() {
                return Err(AppError::not_found("product", id));
            }
            Ok(repo::list_movements(conn, id.0, before, limit + 1)?)
        })
        .await?;
    let page = Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id));
    let items = page.items.into_iter().map(StockMovementRow::into_domain).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}
