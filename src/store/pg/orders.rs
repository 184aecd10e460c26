//! Repository functions for `orders`, `order_items` and `order_status_history`.

use super::models::{OrderItemRow, OrderRow, StatusChangeRow};
use super::schema::{order_items, order_status_history, orders};
use crate::domain::ids::{ClientId, CouponId, OrderId};
use crate::domain::orders::{Order, OrderFilter, OrderItem, OrderStatus, StatusChange};
use crate::domain::precondition::Version;
use diesel::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

/// Inserts the order with its items and first history entry.
pub fn insert(conn: &mut PgConnection, order: &Order, coupon: Option<CouponId>) -> QueryResult<()> {
    diesel::insert_into(orders::table).values(OrderRow::new(order, coupon.map(|c| c.0))).execute(conn)?;
    let items: Vec<OrderItemRow> = order.items.iter().map(|item| OrderItemRow::new(order.id.0, item)).collect();
    diesel::insert_into(order_items::table).values(&items).execute(conn)?;
    let history: Vec<StatusChangeRow> =
        order.status_history.iter().map(|change| StatusChangeRow::new(order.id.0, change)).collect();
    diesel::insert_into(order_status_history::table).values(&history).execute(conn)?;
    Ok(())
}

/// The order with its items and history (three statements: run it in one snapshot or
/// transaction, so the status and its history agree).
pub fn find(conn: &mut PgConnection, id: OrderId) -> QueryResult<Option<Order>> {
    let row = orders::table.find(id.0).select(OrderRow::as_select()).first(conn).optional()?;
    Ok(with_details(conn, row.into_iter().collect())?.pop())
}

/// The order's status and version, row-locked: status changes of one order happen one after
/// the other.
pub fn lock_status(conn: &mut PgConnection, id: OrderId) -> QueryResult<Option<(OrderStatus, Version)>> {
    let row: Option<(String, i32)> = orders::table
        .find(id.0)
        .select((orders::status, orders::version))
        .for_no_key_update()
        .first(conn)
        .optional()?;
    row.map(|(text, version)| Ok((super::parse_text("orders.status", &text, OrderStatus::parse)?, Version(version))))
        .transpose()
}

pub fn set_status(conn: &mut PgConnection, id: OrderId, change: &StatusChange) -> QueryResult<()> {
    diesel::update(orders::table.find(id.0))
        .set((orders::status.eq(change.to.as_str()), orders::updated_at.eq(change.changed_at)))
        .execute(conn)?;
    diesel::insert_into(order_status_history::table).values(StatusChangeRow::new(id.0, change)).execute(conn)?;
    Ok(())
}

/// The order's amount paid, and the status change a payment or refund brings (one update).
pub fn record_paid(
    conn: &mut PgConnection,
    id: OrderId,
    paid: crate::domain::money::Money,
    refunded_now: crate::domain::money::Money,
    change: Option<&StatusChange>,
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<()> {
    // What a refund gives back moves from paid to refunded in the same statement (the checks
    // hold `amount_paid + amount_refunded <= total` at every statement).
    let refunded = orders::amount_refunded + refunded_now.amount();
    match change {
        None => {
            diesel::update(orders::table.find(id.0))
                .set((
                    orders::amount_paid.eq(paid.amount()),
                    orders::amount_refunded.eq(refunded),
                    orders::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Some(change) => {
            diesel::update(orders::table.find(id.0))
                .set((
                    orders::amount_paid.eq(paid.amount()),
                    orders::amount_refunded.eq(refunded),
                    orders::status.eq(change.to.as_str()),
                    orders::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(order_status_history::table)
                .values(StatusChangeRow::new(id.0, change))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn items_of(conn: &mut PgConnection, id: OrderId) -> QueryResult<Vec<OrderItem>> {
    let rows: Vec<OrderItemRow> = order_items::table
        .filter(order_items::order_id.eq(id.0))
        .select(OrderItemRow::as_select())
        .order(order_items::product_id)
        .load(conn)?;
    Ok(rows.into_iter().map(OrderItemRow::into_domain).collect())
}

/// Orders with their items and history: two more statements for any number of orders.
fn with_details(conn: &mut PgConnection, rows: Vec<OrderRow>) -> QueryResult<Vec<Order>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let items: Vec<OrderItemRow> = order_items::table
        .filter(order_items::order_id.eq_any(&ids))
        .select(OrderItemRow::as_select())
        .order((order_items::order_id, order_items::product_id))
        .load(conn)?;
    let history: Vec<StatusChangeRow> = order_status_history::table
        .filter(order_status_history::order_id.eq_any(&ids))
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
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            row.into_domain(
                items_by_order.remove(&id).unwrap_or_default(),
                history_by_order.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// Orders newest first (UUIDv7 ids are time-ordered) before `before`, with their details
/// (three statements: run it in one snapshot).
pub fn list(
    conn: &mut PgConnection,
    filter: &OrderFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Order>> {
    let mut query = orders::table.select(OrderRow::as_select()).order(orders::id.desc()).limit(limit).into_boxed();
    if let Some(before) = before {
        query = query.filter(orders::id.lt(before));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(orders::client_id.eq(client_id.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::status.eq(status.as_str()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(until) = filter.created_until {
        query = query.filter(orders::created_at.lt(until));
    }
    let rows = query.load(conn)?;
    with_details(conn, rows)
}

/// The client an order belongs to.
pub fn client_of(conn: &mut PgConnection, id: OrderId) -> QueryResult<Option<ClientId>> {
    orders::table.find(id.0).select(orders::client_id).first::<Uuid>(conn).optional().map(|c| c.map(ClientId))
}
