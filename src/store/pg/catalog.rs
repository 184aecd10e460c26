//! Repository functions for `categories`, `products` and `stock_movements`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::custom_plan::custom_plan;
use super::keyset;

use super::parse_text;
use super::schema::{categories, products, stock_movements};
use crate::domain::catalog::MovementKind;
use crate::domain::catalog::{
    Category, CategoryChanges, Product, ProductChanges, ProductFilter, StockMovement, StockStatus,
};
use crate::domain::ids::{CategoryId, ProductId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use rust_decimal::Decimal;
use uuid::Uuid;

pub fn insert_category(conn: &mut PgConnection, category: &Category) -> QueryResult<Category> {
    diesel::insert_into(categories::table)
        .values(CategoryRow::from(category))
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .map(Into::into)
}

by_id!(find_category, lock_category: categories, CategoryRow, CategoryId => Category, |row| Ok(row.into()));

/// Categories in creation order (UUIDv7 ids) after `after`; `search` matches name or slug.
pub fn list_categories(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Category>> {
    let mut query =
        categories::table.select(CategoryRow::as_select()).order(categories::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(categories::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(categories::name.ilike(pattern.clone()).or(categories::slug.ilike(pattern)));
    }
    Ok(query.load::<CategoryRow>(conn)?.into_iter().map(Into::into).collect())
}

pub fn update_category(
    conn: &mut PgConnection,
    id: CategoryId,
    changes: &CategoryChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<Category>> {
    diesel::update(categories::table.find(id.0))
        .set(CategoryChangeset::new(changes, now))
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

pub fn delete_category(conn: &mut PgConnection, id: CategoryId) -> QueryResult<bool> {
    diesel::delete(categories::table.find(id.0)).execute(conn).map(|n| n > 0)
}

pub fn insert_product(conn: &mut PgConnection, product: &Product) -> QueryResult<Product> {
    diesel::insert_into(products::table)
        .values(ProductRow::from(product))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .map(Into::into)
}

by_id!(find_product, lock_product: products, ProductRow, ProductId => Product, |row| Ok(row.into()));

/// Where the previous page of products ended, in the sort's own key.
#[derive(Debug, Clone, PartialEq)]
pub enum ProductPosition {
    Created(Uuid),
    Name(String, Uuid),
    Price(Decimal, Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKey {
    Created,
    Name,
    Price,
}

pub fn list_products(
    conn: &mut PgConnection,
    filter: &ProductFilter,
    key: ProductKey,
    descending: bool,
    after: Option<&ProductPosition>,
    limit: i64,
) -> QueryResult<Vec<Product>> {
    let mut query = products::table.select(ProductRow::as_select()).limit(limit).into_boxed();
    if let Some(category_id) = filter.category_id {
        query = query.filter(products::category_id.eq(category_id.0));
    }
    if let Some(active) = filter.active {
        query = query.filter(products::active.eq(active));
    }
    // `low` is stock ≤ 1.5 × reorder point, written in integers as 2·stock ≤ 3·reorder point
    // (in bigint: 3 × a reorder point near the limit overflows an integer).
    query = match filter.stock_status {
        None => query,
        Some(StockStatus::Critical) => query.filter(products::stock.le(products::reorder_point)),
        Some(StockStatus::Low) => query
            .filter(products::stock.gt(products::reorder_point))
            .filter(sql::<Bool>("2 * products.stock::bigint <= 3 * products.reorder_point::bigint")),
        Some(StockStatus::Optimal) => {
            query.filter(sql::<Bool>("2 * products.stock::bigint > 3 * products.reorder_point::bigint"))
        }
    };
    if let Some(text) = &filter.search {
        // Name, slug and description, lowercased in one indexed column.
        query = query.filter(custom_plan(products::search_text.like(super::lower(super::like_pattern(text)))));
    }
    query = match (key, descending) {
        (ProductKey::Created, false) => query.order(products::id.asc()),
        (ProductKey::Created, true) => query.order(products::id.desc()),
        (ProductKey::Name, false) => query.order((products::name.asc(), products::id.asc())),
        (ProductKey::Name, true) => query.order((products::name.desc(), products::id.desc())),
        (ProductKey::Price, false) => query.order((products::price.asc(), products::id.asc())),
        (ProductKey::Price, true) => query.order((products::price.desc(), products::id.desc())),
    };
    query = match after {
        None => query,
        Some(ProductPosition::Created(id)) if descending => query.filter(products::id.lt(*id)),
        Some(ProductPosition::Created(id)) => query.filter(products::id.gt(*id)),
        Some(ProductPosition::Name(name, id)) => {
            query.filter(keyset::after(products::name, products::id, name.clone(), *id, descending))
        }
        Some(ProductPosition::Price(price, id)) => {
            query.filter(keyset::after(products::price, products::id, *price, *id, descending))
        }
    };
    Ok(query.load::<ProductRow>(conn)?.into_iter().map(Into::into).collect())
}

pub fn update_product(
    conn: &mut PgConnection,
    id: ProductId,
    changes: &ProductChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<Product>> {
    diesel::update(products::table.find(id.0))
        .set(ProductChangeset::new(changes, now))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// Deletes the product and its stock history; order items referencing it make this fail.
pub fn delete_product(conn: &mut PgConnection, id: ProductId) -> QueryResult<bool> {
    diesel::delete(products::table.find(id.0)).execute(conn).map(|n| n > 0)
}

/// Sets the stock of a product the caller has locked.
pub fn set_stock(conn: &mut PgConnection, id: ProductId, stock: i32, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(products::table.find(id.0))
        .set((products::stock.eq(stock), products::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Takes `quantity` units of an active product in one conditional statement, so concurrent
/// orders can never take more than there is. `None` when the product is missing, inactive
/// or short; the caller reads the row to say which.
pub fn take_stock(
    conn: &mut PgConnection,
    id: ProductId,
    quantity: i32,
    now: DateTime<Utc>,
) -> QueryResult<Option<Product>> {
    diesel::update(products::table.find(id.0).filter(products::active.eq(true)).filter(products::stock.ge(quantity)))
        .set((products::stock.eq(products::stock - quantity), products::updated_at.eq(now)))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// Puts `quantity` units back (a cancelled order); returns the new stock.
pub fn return_stock(conn: &mut PgConnection, id: ProductId, quantity: i32, now: DateTime<Utc>) -> QueryResult<i32> {
    diesel::update(products::table.find(id.0))
        .set((products::stock.eq(products::stock + quantity), products::updated_at.eq(now)))
        .returning(products::stock)
        .get_result(conn)
}

pub fn insert_movements(conn: &mut PgConnection, movements: &[StockMovement]) -> QueryResult<()> {
    if movements.is_empty() {
        return Ok(());
    }
    let rows: Vec<StockMovementRow> = movements.iter().map(StockMovementRow::from).collect();
    diesel::insert_into(stock_movements::table).values(&rows).execute(conn).map(|_| ())
}

/// A product's movements, newest first, before `before` (a movement id).
pub fn list_movements(
    conn: &mut PgConnection,
    product_id: ProductId,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<StockMovement>> {
    let mut query = stock_movements::table
        .filter(stock_movements::product_id.eq(product_id.0))
        .select(StockMovementRow::as_select())
        .order(stock_movements::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(stock_movements::id.lt(before));
    }
    query.load::<StockMovementRow>(conn)?.into_iter().map(StockMovementRow::into_domain).collect()
}

pub fn product_exists(conn: &mut PgConnection, id: ProductId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(products::table.find(id.0))).get_result(conn)
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub(super) struct CategoryRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Category {
            version: row.version,
            id: row.id.into(),
            name: row.name,
            slug: row.slug,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Category> for CategoryRow {
    fn from(c: &Category) -> Self {
        CategoryRow {
            version: c.version,
            id: c.id.0,
            name: c.name.clone(),
            slug: c.slug.clone(),
            description: c.description.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = categories)]
pub(super) struct CategoryChangeset {
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl CategoryChangeset {
    pub fn new(changes: &CategoryChanges, now: DateTime<Utc>) -> Self {
        CategoryChangeset {
            name: changes.name.clone(),
            slug: changes.slug.clone(),
            description: changes.description.clone(),
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub(super) struct ProductRow {
    pub id: Uuid,
    pub category_id: Option<Uuid>,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub price: Decimal,
    pub stock: i32,
    pub reorder_point: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Product {
            version: row.version,
            id: row.id.into(),
            category_id: row.category_id.map(Into::into),
            name: row.name,
            slug: row.slug,
            description: row.description,
            price: Money::from_decimal(row.price),
            stock_status: StockStatus::of(row.stock, row.reorder_point),
            stock: row.stock,
            reorder_point: row.reorder_point,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Product> for ProductRow {
    fn from(p: &Product) -> Self {
        ProductRow {
            version: p.version,
            id: p.id.0,
            category_id: p.category_id.map(|id| id.0),
            name: p.name.clone(),
            slug: p.slug.clone(),
            description: p.description.clone(),
            price: p.price.amount(),
            stock: p.stock,
            reorder_point: p.reorder_point,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Stock never changes through a changeset: only movements change it.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = products)]
pub(super) struct ProductChangeset {
    category_id: Option<Option<Uuid>>,
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
    price: Option<Decimal>,
    reorder_point: Option<i32>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl ProductChangeset {
    pub fn new(changes: &ProductChanges, now: DateTime<Utc>) -> Self {
        ProductChangeset {
            category_id: changes.category_id.map(|category| category.map(|id| id.0)),
            name: changes.name.clone(),
            slug: changes.slug.clone(),
            description: changes.description.clone(),
            price: changes.price.map(Money::amount),
            reorder_point: changes.reorder_point,
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_movements, check_for_backend(diesel::pg::Pg))]
pub(super) struct StockMovementRow {
    pub id: Uuid,
    pub product_id: Uuid,
    pub kind: String,
    pub quantity: i32,
    pub delta: i32,
    pub resulting_stock: i32,
    pub reason: String,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl StockMovementRow {
    pub fn into_domain(self) -> QueryResult<StockMovement> {
        Ok(StockMovement {
            id: self.id.into(),
            product_id: self.product_id.into(),
            kind: parse_text("stock_movements.kind", &self.kind, MovementKind::parse)?,
            quantity: self.quantity,
            delta: self.delta,
            resulting_stock: self.resulting_stock,
            reason: self.reason,
            order_id: self.order_id.map(Into::into),
            created_at: self.created_at,
        })
    }
}

impl From<&StockMovement> for StockMovementRow {
    fn from(m: &StockMovement) -> Self {
        StockMovementRow {
            id: m.id.0,
            product_id: m.product_id.0,
            kind: m.kind.as_str().to_string(),
            quantity: m.quantity,
            delta: m.delta,
            resulting_stock: m.resulting_stock,
            reason: m.reason.clone(),
            order_id: m.order_id.map(|id| id.0),
            created_at: m.created_at,
        }
    }
}
