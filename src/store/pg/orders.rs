//! Repository functions for `coupons`, `orders`, `order_items`, `order_status_history` and
//! `coupon_redemptions`.

use super::models::{CouponChangeset, CouponRow, NewRedemption, OrderItemRow, OrderRow, StatusChangeRow};
use super::schema::{coupon_redemptions, coupons, order_items, order_status_history, orders};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn insert_coupon(conn: &mut PgConnection, row: &CouponRow) -> QueryResult<CouponRow> {
    diesel::insert_into(coupons::table).values(row).returning(CouponRow::as_returning()).get_result(conn)
}

pub fn find_coupon(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<CouponRow>> {
    coupons::table.find(id).select(CouponRow::as_select()).first(conn).optional()
}

/// Codes match regardless of case (the unique index is on `lower(code)`).
pub fn find_coupon_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<CouponRow>> {
    coupons::table.filter(lower(coupons::code).eq(lower(code))).select(CouponRow::as_select()).first(conn).optional()
}

pub fn list_coupons(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<CouponRow>> {
    let mut query = coupons::table.select(CouponRow::as_select()).order(coupons::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(coupons::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(coupons::code.ilike(pattern.clone()).or(coupons::description.ilike(pattern)));
    }
    query.load(conn)
}

pub fn update_coupon(conn: &mut PgConnection, id: Uuid, changes: &CouponChangeset) -> QueryResult<Option<CouponRow>> {
    diesel::update(coupons::table.find(id))
        .set(changes)
        .returning(CouponRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn delete_coupon(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(coupons::table.find(id)).execute(conn).map(|n| n > 0)
}

/// Takes one redemption in a single conditional statement: concurrent orders can never take
/// more than `max_redemptions`. `false` when none is left.
pub fn take_redemption(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::update(coupons::table.find(id).filter(
        coupons::max_redemptions.is_null().or(coupons::redemptions.lt(coupons::max_redemptions.assume_not_null())),
    ))
    .set(coupons::redemptions.eq(coupons::redemptions + 1))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn insert_redemption(conn: &mut PgConnection, row: &NewRedemption) -> QueryResult<()> {
    diesel::insert_into(coupon_redemptions::table).values(row).execute(conn).map(|_| ())
}

/// Gives back the redemption an order held, if any.
pub fn release_redemption(conn: &mut PgConnection, order_id: Uuid) -> QueryResult<()> {
    let released: Option<Uuid> = diesel::delete(coupon_redemptions::table.find(order_id))
        .returning(coupon_redemptions::coupon_id)
        .get_result(conn)
        .optional()?;
    if let Some(coupon_id) = released {
        diesel::update(coupons::table.find(coupon_id))
            .set(coupons::redemptions.eq(coupons::redemptions - 1))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_order(
    conn: &mut PgConnection,
    order: &OrderRow,
    items: &[OrderItemRow],
    created: &StatusChangeRow,
) -> QueryResult<()> {
    diesel::insert_into(orders::table).values(order).execute(conn)?;
    diesel::insert_into(order_items::table).values(items).execute(conn)?;
    diesel::insert_into(order_status_history::table).values(created).execute(conn)?;
    Ok(())
}

pub fn find_order(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<OrderRow>> {
    orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()
}

/// Reads and row-locks the order: status changes of one order happen one after the other.
pub fn lock_order(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<OrderRow>> {
    orders::table.find(id).select(OrderRow::as_select()).for_update().first(conn).optional()
}

pub fn set_status(conn: &mut PgConnection, id: Uuid, status: &str, change: &StatusChangeRow) -> QueryResult<OrderRow> {
    let row = diesel::update(orders::table.find(id))
        .set((
            orders::status.eq(status),
            orders::version.eq(orders::version + 1),
            orders::updated_at.eq(diesel::dsl::now),
        ))
        .returning(OrderRow::as_returning())
        .get_result(conn)?;
    diesel::insert_into(order_status_history::table).values(change).execute(conn)?;
    Ok(row)
}

/// Items and status history per order.
pub type OrderDetails = (HashMap<Uuid, Vec<OrderItemRow>>, HashMap<Uuid, Vec<StatusChangeRow>>);

/// Items and status history of the given orders, two queries for any number of orders.
pub fn details_of(conn: &mut PgConnection, order_ids: &[Uuid]) -> QueryResult<OrderDetails> {
    let items: Vec<OrderItemRow> = order_items::table
        .filter(order_items::order_id.eq_any(order_ids))
        .select(OrderItemRow::as_select())
        .order((order_items::order_id, order_items::product_id))
        .load(conn)?;
    let history: Vec<StatusChangeRow> = order_status_history::table
        .filter(order_status_history::order_id.eq_any(order_ids))
        .select(StatusChangeRow::as_select())
        .order((order_status_history::order_id, order_status_history::id))
        .load(conn)?;
    let mut items_by_order: HashMap<Uuid, Vec<OrderItemRow>> = HashMap::new();
    for item in items {
        items_by_order.entry(item.order_id).or_default().push(item);
    }
    let mut history_by_order: HashMap<Uuid, Vec<StatusChangeRow>> = HashMap::new();
    for change in history {
        history_by_order.entry(change.order_id).or_default().push(change);
    }
    Ok((items_by_order, history_by_order))
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub client_id: Option<Uuid>,
    pub status: Option<&'static str>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_until: Option<DateTime<Utc>>,
}

/// Orders newest first (UUIDv7 ids are time-ordered) before `before`.
pub fn list_orders(
    conn: &mut PgConnection,
    filter: &OrderFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OrderRow>> {
    let mut query = orders::table.select(OrderRow::as_select()).order(orders::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(orders::id.lt(before));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(orders::client_id.eq(client_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::status.eq(status));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(until) = filter.created_until {
        query = query.filter(orders::created_at.lt(until));
    }
    query.load(conn)
}
