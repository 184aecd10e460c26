//! Repository functions for `categories`, `products` and `stock_movements`.

use super::models::{CategoryChangeset, CategoryRow, ProductChangeset, ProductRow, StockMovementRow};
use super::schema::{categories, products, stock_movements};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use rust_decimal::Decimal;
use uuid::Uuid;

pub fn insert_category(conn: &mut PgConnection, row: &CategoryRow) -> QueryResult<CategoryRow> {
    diesel::insert_into(categories::table).values(row).returning(CategoryRow::as_returning()).get_result(conn)
}

pub fn find_category(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<CategoryRow>> {
    categories::table.find(id).select(CategoryRow::as_select()).first(conn).optional()
}

/// Categories in creation order (UUIDv7 ids) after `after`; `search` matches name or slug.
pub fn list_categories(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CategoryRow>> {
    let mut query =
        categories::table.select(CategoryRow::as_select()).order(categories::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(categories::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(categories::name.ilike(pattern.clone()).or(categories::slug.ilike(pattern)));
    }
    query.load(conn)
}

pub fn update_category(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &CategoryChangeset,
) -> QueryResult<Option<CategoryRow>> {
    diesel::update(categories::table.find(id))
        .set(changes)
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn delete_category(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(categories::table.find(id)).execute(conn).map(|n| n > 0)
}

pub fn insert_product(conn: &mut PgConnection, row: &ProductRow) -> QueryResult<ProductRow> {
    diesel::insert_into(products::table).values(row).returning(ProductRow::as_returning()).get_result(conn)
}

pub fn find_product(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ProductRow>> {
    products::table.find(id).select(ProductRow::as_select()).first(conn).optional()
}

/// Reads and row-locks the product for the rest of the transaction.
pub fn lock_product(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ProductRow>> {
    products::table.find(id).select(ProductRow::as_select()).for_update().first(conn).optional()
}

pub fn find_products(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ProductRow>> {
    products::table.filter(products::id.eq_any(ids)).select(ProductRow::as_select()).load(conn)
}

/// Which stock band a list is filtered to (see `StockStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockBand {
    Critical,
    Low,
    Optimal,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub category_id: Option<Uuid>,
    pub active: Option<bool>,
    pub stock: Option<StockBand>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    Created,
    Name,
    Price,
}

/// Where the previous page ended, in the sort's own key (keyset pagination).
#[derive(Debug, Clone, PartialEq)]
pub enum ProductPosition {
    Created(Uuid),
    Name(String, Uuid),
    Price(Decimal, Uuid),
}

pub fn list_products(
    conn: &mut PgConnection,
    filter: &ProductFilter,
    sort: ProductSort,
    descending: bool,
    after: Option<&ProductPosition>,
    limit: i64,
) -> QueryResult<Vec<ProductRow>> {
    let mut query = products::table.select(ProductRow::as_select()).limit(limit).into_boxed();
    if let Some(category_id) = filter.category_id {
        query = query.filter(products::category_id.eq(category_id));
    }
    if let Some(active) = filter.active {
        query = query.filter(products::active.eq(active));
    }
    // `low` is stock ≤ 1.5 × reorder point, written in integers as 2·stock ≤ 3·reorder point
    // (in bigint: 3 × a reorder point near the limit overflows an integer).
    query = match filter.stock {
        None => query,
        Some(StockBand::Critical) => query.filter(products::stock.le(products::reorder_point)),
        Some(StockBand::Low) => query
            .filter(products::stock.gt(products::reorder_point))
            .filter(sql::<Bool>("2 * products.stock::bigint <= 3 * products.reorder_point::bigint")),
        Some(StockBand::Optimal) => {
            query.filter(sql::<Bool>("2 * products.stock::bigint > 3 * products.reorder_point::bigint"))
        }
    };
    if let Some(text) = &filter.search {
        let pattern = super::like_pattern(text);
        query = query.filter(
            products::name
                .ilike(pattern.clone())
                .or(products::slug.ilike(pattern.clone()))
                .or(products::description.ilike(pattern)),
        );
    }
    query = match (sort, descending) {
        (ProductSort::Created, false) => query.order(products::id.asc()),
        (ProductSort::Created, true) => query.order(products::id.desc()),
        (ProductSort::Name, false) => query.order((products::name.asc(), products::id.asc())),
        (ProductSort::Name, true) => query.order((products::name.desc(), products::id.desc())),
        (ProductSort::Price, false) => query.order((products::price.asc(), products::id.asc())),
        (ProductSort::Price, true) => query.order((products::price.desc(), products::id.desc())),
    };
    query =
        match (after, descending) {
            (None, _) => query,
            (Some(ProductPosition::Created(id)), false) => query.filter(products::id.gt(*id)),
            (Some(ProductPosition::Created(id)), true) => query.filter(products::id.lt(*id)),
            (Some(ProductPosition::Name(name, id)), false) => query
                .filter(products::name.gt(name.clone()).or(products::name.eq(name.clone()).and(products::id.gt(*id)))),
            (Some(ProductPosition::Name(name, id)), true) => query
                .filter(products::name.lt(name.clone()).or(products::name.eq(name.clone()).and(products::id.lt(*id)))),
            (Some(ProductPosition::Price(price, id)), false) => {
                query.filter(products::price.gt(*price).or(products::price.eq(*price).and(products::id.gt(*id))))
            }
            (Some(ProductPosition::Price(price, id)), true) => {
                query.filter(products::price.lt(*price).or(products::price.eq(*price).and(products::id.lt(*id))))
            }
        };
    query.load(conn)
}

pub fn update_product(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &ProductChangeset,
) -> QueryResult<Option<ProductRow>> {
    diesel::update(products::table.find(id))
        .set(changes)
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Deletes the product and its stock history; order items referencing it make this fail.
pub fn delete_product(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(products::table.find(id)).execute(conn).map(|n| n > 0)
}

/// Sets the stock of a product the caller has locked.
pub fn set_stock(conn: &mut PgConnection, id: Uuid, stock: i32) -> QueryResult<()> {
    diesel::update(products::table.find(id))
        .set((products::stock.eq(stock), products::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(|_| ())
}

/// Takes `quantity` units of an active product in one conditional statement, so concurrent
/// orders can never take more than there is. `None` when the product is missing, inactive
/// or short; the caller reads the row to say which.
pub fn take_stock(conn: &mut PgConnection, id: Uuid, quantity: i32) -> QueryResult<Option<ProductRow>> {
    diesel::update(products::table.find(id).filter(products::active.eq(true)).filter(products::stock.ge(quantity)))
        .set((products::stock.eq(products::stock - quantity), products::updated_at.eq(diesel::dsl::now)))
        .returning(ProductRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Puts `quantity` units back (a cancelled order); returns the new stock.
pub fn return_stock(conn: &mut PgConnection, id: Uuid, quantity: i32) -> QueryResult<i32> {
    diesel::update(products::table.find(id))
        .set((products::stock.eq(products::stock + quantity), products::updated_at.eq(diesel::dsl::now)))
        .returning(products::stock)
        .get_result(conn)
}

pub fn insert_movements(conn: &mut PgConnection, rows: &[StockMovementRow]) -> QueryResult<()> {
    diesel::insert_into(stock_movements::table).values(rows).execute(conn).map(|_| ())
}

/// A product's movements, newest first, before `before` (a movement id).
pub fn list_movements(
    conn: &mut PgConnection,
    product_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<StockMovementRow>> {
    let mut query = stock_movements::table
        .filter(stock_movements::product_id.eq(product_id))
        .select(StockMovementRow::as_select())
        .order(stock_movements::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(stock_movements::id.lt(before));
    }
    query.load(conn)
}
