//! Repository functions for `orders`, `order_items` and `order_status_history`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::parse_text;
use super::schema::{order_items, order_status_history, orders};
use crate::domain::ids::{ClientId, CouponId, OrderId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::orders::{Order, OrderFilter, OrderItem, OrderStatus, StatusChange};
use crate::domain::precondition::Version;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
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

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub(super) struct OrderRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub shipping_address: String,
    pub payment_method: String,
    pub coupon_id: Option<Uuid>,
    pub coupon_code: Option<String>,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub(super) struct OrderItemRow {
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub product_slug: String,
    pub unit_price: Decimal,
    pub quantity: i32,
    pub line_total: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_status_history, check_for_backend(diesel::pg::Pg))]
pub(super) struct StatusChangeRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

impl StatusChangeRow {
    pub fn new(order_id: Uuid, change: &StatusChange) -> Self {
        StatusChangeRow {
            id: change.id.0,
            order_id,
            from_status: change.from.map(|s| s.as_str().to_string()),
            to_status: change.to.as_str().to_string(),
            note: change.note.clone(),
            changed_at: change.changed_at,
        }
    }

    fn into_domain(self) -> QueryResult<StatusChange> {
        Ok(StatusChange {
            id: self.id.into(),
            from: match self.from_status.as_deref() {
                Some(text) => Some(parse_text("order_status_history.from_status", text, OrderStatus::parse)?),
                None => None,
            },
            to: parse_text("order_status_history.to_status", &self.to_status, OrderStatus::parse)?,
            note: self.note,
            changed_at: self.changed_at,
        })
    }
}

impl OrderRow {
    pub fn new(order: &Order, coupon_id: Option<Uuid>) -> Self {
        OrderRow {
            id: order.id.0,
            client_id: order.client_id.0,
            status: order.status.as_str().to_string(),
            shipping_address: order.shipping_address.clone(),
            payment_method: order.payment_method.as_str().to_string(),
            coupon_id,
            coupon_code: order.coupon_code.clone(),
            subtotal: order.subtotal.amount(),
            discount: order.discount.amount(),
            total: order.total.amount(),
            amount_paid: order.amount_paid.amount(),
            amount_refunded: order.amount_refunded.amount(),
            version: order.version,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }

    /// The order with its items and history (rows of this order only).
    pub fn into_domain(self, items: Vec<OrderItemRow>, history: Vec<StatusChangeRow>) -> QueryResult<Order> {
        let status = parse_text("orders.status", &self.status, OrderStatus::parse)?;
        Ok(Order {
            id: self.id.into(),
            client_id: self.client_id.into(),
            allowed_transitions: status.next().to_vec(),
            status,
            shipping_address: self.shipping_address,
            payment_method: parse_text("orders.payment_method", &self.payment_method, PaymentMethod::parse)?,
            coupon_code: self.coupon_code,
            subtotal: Money::from_decimal(self.subtotal),
            discount: Money::from_decimal(self.discount),
            total: Money::from_decimal(self.total),
            amount_paid: Money::from_decimal(self.amount_paid),
            amount_refunded: Money::from_decimal(self.amount_refunded),
            items: items.into_iter().map(OrderItemRow::into_domain).collect(),
            status_history: history.into_iter().map(StatusChangeRow::into_domain).collect::<QueryResult<_>>()?,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl OrderItemRow {
    pub fn into_domain(self) -> OrderItem {
        OrderItem {
            product_id: self.product_id.into(),
            product_name: self.product_name,
            product_slug: self.product_slug,
            unit_price: Money::from_decimal(self.unit_price),
            quantity: self.quantity,
            line_total: Money::from_decimal(self.line_total),
        }
    }

    pub fn new(order_id: Uuid, item: &OrderItem) -> Self {
        OrderItemRow {
            order_id,
            product_id: item.product_id.0,
            product_name: item.product_name.clone(),
            product_slug: item.product_slug.clone(),
            unit_price: item.unit_price.amount(),
            quantity: item.quantity,
            line_total: item.line_total.amount(),
        }
    }
}
