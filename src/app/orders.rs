//! Orders: placed in one transaction that takes stock, prices the lines exactly, redeems the
//! coupon and records everything; then moved through the status machine.
//!
//! Races: the client is read under a lock that holds until commit (a concurrent delete or
//! deactivation waits for the order, or the order for it); each line's stock is taken by one
//! conditional `UPDATE … WHERE stock >= quantity`, in product id order (so two orders never wait
//! on each other in a cycle); the coupon's redemption and its terms come from one conditional
//! `UPDATE … RETURNING`, so an order never commits with terms the coupon no longer has; "once
//! per client" is a partial unique index. Status changes lock the order row, so of two
//! concurrent changes the second sees the first. Repeated products in one request are merged.

use super::catalog::{order_movement, PRODUCT_IN_USE};
use super::constraints::{gone, invalid, length, out_of_range, Meaning, Rule};
use super::events::record;
use super::idempotency::recovery_point;
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use crate::domain::catalog::MovementKind;
use crate::domain::client::Client;
use crate::domain::coupons::{Coupon, CouponRefusal};
use crate::domain::events::EventType;
use crate::domain::ids::{ClientId, Located, OrderId, ProductId, StatusChangeId};
use crate::domain::money::Money;
use crate::domain::orders::{
    merge_lines, NewOrder, Order, OrderFilter, OrderItem, OrderStatus, PricedLine, StatusChange,
};
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::view::Degraded;
use crate::store::pg::clients::BuyerStanding;
use crate::store::pg::{catalog, clients, coupons, orders as repo};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::{json, Map, Value};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("orders_status_check", Meaning::Invariant),
    Rule::Check(
        "orders_payment_method_check",
        invalid("payment_method", "invalid", "must be card, bank_transfer, cash or paypal"),
    ),
    Rule::Check("orders_shipping_address_check", length("shipping_address", 1, 500)),
    Rule::Check("orders_subtotal_check", Meaning::Invariant),
    Rule::Check("orders_discount_within_subtotal", Meaning::Invariant),
    Rule::Check("orders_total_is_subtotal_less_discount", Meaning::Invariant),
    Rule::Check("orders_paid_within_total", Meaning::Invariant),
    Rule::foreign_key(
        "orders_client_id_fkey",
        invalid("client_id", "unknown_client", "no client has this id"),
        Some(super::clients::IN_USE),
    ),
    Rule::foreign_key(
        "orders_coupon_id_fkey",
        invalid("coupon_code", "unknown_coupon", "no coupon has this code"),
        Some(super::coupons::IN_USE),
    ),
    Rule::Check("order_items_line_total_exact", Meaning::Invariant),
    Rule::Check("order_items_quantity_check", out_of_range("items", "quantities must be at least 1")),
    Rule::Check("order_items_unit_price_check", Meaning::Invariant),
    Rule::foreign_key("order_items_order_id_fkey", gone("order"), None),
    Rule::foreign_key(
        "order_items_product_id_fkey",
        invalid("items", "unknown_product", "a product id does not exist"),
        Some(PRODUCT_IN_USE),
    ),
    Rule::Check("order_status_history_note_check", length("note", 0, 500)),
    Rule::foreign_key("order_status_history_order_id_fkey", gone("order"), None),
];

impl Keyed for Order {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

fn history_entry(from: Option<OrderStatus>, to: OrderStatus, note: Option<String>, at: DateTime<Utc>) -> StatusChange {
    StatusChange { id: StatusChangeId::new(), from, to, note, changed_at: at }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn place(state: &AppState, input: NewOrder) -> AppResult<Order> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let order = place_in(conn, &input, now)?;
            recovery_point(order.id.path());
            Ok(order)
        })
        .await
}

/// The client an order or enrollment is for, locked until the transaction ends; refused when
/// it does not exist or is inactive.
pub(crate) fn lock_buyer(conn: &mut PgConnection, client: ClientId, action: &str) -> AppResult<BuyerStanding> {
    admit_buyer(clients::lock_for_purchase(conn, client)?, action)
}

/// `lock_buyer`'s checks on a plain read, to refuse a request before anything is locked.
pub(crate) fn check_buyer(conn: &mut PgConnection, client: ClientId, action: &str) -> AppResult<BuyerStanding> {
    admit_buyer(clients::buyer_standing(conn, client)?, action)
}

fn admit_buyer(standing: Option<BuyerStanding>, action: &str) -> AppResult<BuyerStanding> {
    let standing = standing.ok_or_else(|| AppError::invalid("client_id", "unknown_client", "no client has this id"))?;
    if !standing.active {
        return Err(AppError::conflict(
            "client_inactive",
            Some("client_id"),
            format!("inactive clients cannot {action}"),
        ));
    }
    Ok(standing)
}

/// Marks the client as having orders or enrollments, once, in the transaction that creates the
/// first (under `lock_buyer`'s lock, after the checks that could refuse it).
pub(crate) fn note_activity(conn: &mut PgConnection, client: ClientId, standing: BuyerStanding) -> AppResult<()> {
    if !standing.has_activity {
        clients::mark_active(conn, client)?;
    }
    Ok(())
}

pub(crate) fn place_in(conn: &mut PgConnection, input: &NewOrder, now: DateTime<Utc>) -> AppResult<Order> {
    let buyer = lock_buyer(conn, input.client_id, "order")?;
    let field_of = |product: ProductId| {
        let index = input.lines.iter().position(|line| line.product_id == product).unwrap_or(0);
        format!("items[{index}]")
    };
    let order_id = OrderId::new();
    let mut lines = Vec::new();
    let mut items = Vec::new();
    let mut movements = Vec::new();
    for line in merge_lines(&input.lines) {
        let quantity = i32::try_from(line.quantity).unwrap_or(i32::MAX);
        let Some(product) = catalog::take_stock(conn, line.product_id, quantity, now)? else {
            return Err(refuse_line(conn, line.product_id, quantity, field_of(line.product_id))?);
        };
        super::catalog::announce_stock_change(conn, &product, product.stock + quantity)?;
        let priced = PricedLine::new(line.product_id, product.price, line.quantity);
        items.push(OrderItem {
            product_id: line.product_id,
            product_name: product.name.clone(),
            product_slug: product.slug.clone(),
            unit_price: product.price,
            quantity,
            line_total: priced.line_total,
        });
        movements.push(order_movement(line.product_id, order_id, MovementKind::Out, quantity, product.stock, now));
        lines.push(priced);
    }
    let subtotal: Money = lines.iter().map(|line| line.line_total).sum();

    let (coupon, discount) = match input.coupon_code.as_deref() {
        Some(code) => {
            let (coupon, discount) = redeem(conn, code, subtotal, now)?;
            (Some(coupon), discount)
        }
        None => (None, Money::ZERO),
    };

    let order = Order {
        id: order_id,
        client_id: input.client_id,
        status: OrderStatus::Pending,
        allowed_transitions: OrderStatus::Pending.next().to_vec(),
        shipping_address: input.shipping_address.clone(),
        payment_method: input.payment_method,
        coupon_code: coupon.as_ref().map(|c| c.code.clone()),
        subtotal,
        discount,
        total: subtotal.saturating_sub(discount),
        amount_paid: Money::ZERO,
        amount_refunded: Money::ZERO,
        items,
        status_history: vec![history_entry(None, OrderStatus::Pending, Some("order placed".into()), now)],
        version: 1,
        created_at: now,
        updated_at: now,
    };
    repo::insert(conn, &order, coupon.as_ref().map(|c| c.id))?;
    if let Some(coupon) = &coupon {
        coupons::insert_redemption(conn, order_id, coupon, input.client_id, now)?;
    }
    catalog::insert_movements(conn, &movements)?;
    note_activity(conn, input.client_id, buyer)?;
    record(conn, EventType::OrderPlaced, &order)?;
    Ok(order)
}

/// Redeems the coupon and prices the discount with its terms as locked by the redemption; a
/// refusal rolls the redemption back with the rest of the order.
fn redeem(conn: &mut PgConnection, code: &str, subtotal: Money, now: DateTime<Utc>) -> AppResult<(Coupon, Money)> {
    if let Some(coupon) = coupons::redeem(conn, code)? {
        let discount = coupon.terms.discount(subtotal, now).map_err(|refusal| coupon_refusal(refusal, subtotal))?;
        return Ok((coupon, discount));
    }
    // Nothing was redeemed: say why (an unknown code, terms that refuse, or none left).
    let coupon = coupons::find_by_code(conn, code)?
        .ok_or_else(|| AppError::invalid("coupon_code", "unknown_coupon", "no coupon has this code"))?;
    coupon.terms.discount(subtotal, now).map_err(|refusal| coupon_refusal(refusal, subtotal))?;
    Err(AppError::conflict("coupon_exhausted", Some("coupon_code"), "this coupon has no redemptions left"))
}

fn coupon_refusal(refusal: CouponRefusal, subtotal: Money) -> AppError {
    match refusal {
        CouponRefusal::Inactive => {
            AppError::conflict("coupon_inactive", Some("coupon_code"), "this coupon is not active")
        }
        CouponRefusal::NotYetValid => {
            AppError::conflict("coupon_not_yet_valid", Some("coupon_code"), "this coupon is not valid yet")
        }
        CouponRefusal::Expired => AppError::conflict("coupon_expired", Some("coupon_code"), "this coupon has expired"),
        CouponRefusal::BelowMinimum(minimum) => AppError::conflict_with(
            "coupon_minimum_not_met",
            Some("coupon_code".into()),
            format!("this coupon needs a subtotal of at least {minimum}"),
            json!({"min_order_amount": minimum, "subtotal": subtotal}),
        ),
    }
}

/// Why a line's stock could not be taken: unknown or inactive product, or not enough units.
fn refuse_line(conn: &mut PgConnection, product_id: ProductId, quantity: i32, field: String) -> AppResult<AppError> {
    let Some(product) = catalog::find_product(conn, product_id)? else {
        return Ok(AppError::invalid(format!("{field}.product_id"), "unknown_product", "no product has this id"));
    };
    if !product.active {
        return Ok(AppError::conflict_with(
            "product_inactive",
            Some(format!("{field}.product_id")),
            format!("{} is not for sale", product.name),
            json!({"product_id": product_id}),
        ));
    }
    Ok(AppError::conflict_with(
        "insufficient_stock",
        Some(format!("{field}.quantity")),
        format!("only {} units of {} are in stock; {quantity} requested", product.stock, product.name),
        json!({"product_id": product_id, "requested": quantity, "available": product.stock}),
    ))
}

/// The order, its items and its history from one snapshot.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: OrderId) -> AppResult<Order> {
    state.db.read(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, filter: OrderFilter, page: PageRequest) -> AppResult<Page<Order>> {
    id_page(state, page, move |conn, before, limit| Ok(repo::list(conn, &filter, before, limit)?)).await
}

/// A customer's own order; another client's is answered as if it did not exist.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_own(state: &AppState, client: ClientId, id: OrderId) -> AppResult<Order> {
    let order = get(state, id).await?;
    if order.client_id != client {
        return Err(AppError::not_found(id));
    }
    Ok(order)
}

/// A customer cancels their own order, only while it is pending (staff can cancel a confirmed
/// one too); stock and coupon go back as with any cancel.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn cancel_own(
    state: &AppState,
    client: ClientId,
    id: OrderId,
    precondition: Precondition,
) -> AppResult<Order> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let (from, _) = repo::lock_status(conn, id)?.found(id)?;
            if repo::client_of(conn, id)? != Some(client) {
                return Err(AppError::not_found(id));
            }
            if from != OrderStatus::Pending {
                return Err(AppError::conflict_with(
                    "invalid_transition",
                    Some("status".into()),
                    format!("a {from} order cannot be cancelled by its customer: only a pending one"),
                    json!({"status": from, "requested": OrderStatus::Cancelled, "allowed": []}),
                ));
            }
            change_status_in(
                conn,
                id,
                OrderStatus::Cancelled,
                Some("cancelled by the customer".into()),
                &precondition,
                now,
            )
        })
        .await
}

/// Moves the order to `to` under its row lock. Cancelling puts the stock back (recorded as
/// `in` movements) and gives the coupon redemption back.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change_status(
    state: &AppState,
    id: OrderId,
    to: OrderStatus,
    note: Option<String>,
    precondition: Precondition,
) -> AppResult<Order> {
    let now = clock::now();
    state.db.tx(move |conn| change_status_in(conn, id, to, note, &precondition, now)).await
}

/// The status change in the caller's transaction; `If-Match` is checked on the locked row.
pub(crate) fn change_status_in(
    conn: &mut PgConnection,
    id: OrderId,
    to: OrderStatus,
    note: Option<String>,
    precondition: &Precondition,
    now: DateTime<Utc>,
) -> AppResult<Order> {
    let (from, version) = repo::lock_status(conn, id)?.found(id)?;
    precondition.check(&version)?;
    if !from.can_become(to) {
        let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        return Err(AppError::conflict_with(
            "invalid_transition",
            Some("status".into()),
            format!(
                "a {from} order cannot become {to}; allowed: {}",
                if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") }
            ),
            json!({"status": from, "requested": to, "allowed": allowed}),
        ));
    }
    repo::set_status(conn, id, &history_entry(Some(from), to, note, now))?;
    if to == OrderStatus::Cancelled {
        give_back(conn, id, now)?;
    }
    announce_status(conn, id)
}

/// `order.status_changed` for the order as it now stands, and `order.cancelled` too when that
/// is the new status; returns the order.
fn announce_status(conn: &mut PgConnection, id: OrderId) -> AppResult<Order> {
    let order = repo::find(conn, id)?.found(id)?;
    record(conn, EventType::OrderStatusChanged, &order)?;
    if order.status == OrderStatus::Cancelled {
        record(conn, EventType::OrderCancelled, &order)?;
    }
    Ok(order)
}

/// A cancelled order's stock goes back (recorded as `in` movements) and its coupon redemption
/// is given back.
fn give_back(conn: &mut PgConnection, id: OrderId, now: DateTime<Utc>) -> AppResult<()> {
    let mut movements = Vec::new();
    for item in repo::items_of(conn, id)? {
        let stock = catalog::return_stock(conn, item.product_id, item.quantity, now)?;
        movements.push(order_movement(item.product_id, id, MovementKind::In, item.quantity, stock, now));
    }
    catalog::insert_movements(conn, &movements)?;
    coupons::release_redemption(conn, id)?;
    Ok(())
}

/// The order's new amount paid; paid in full, a `pending` order becomes `confirmed`, its
/// history saying why. (Called by the payments saga, under the order's row lock, in the
/// transaction that records the payment; `status` is the order's as locked.)
pub(crate) fn record_paid(
    conn: &mut PgConnection,
    id: OrderId,
    status: Option<OrderStatus>,
    paid: Money,
    in_full: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let confirm = (in_full && status == Some(OrderStatus::Pending))
        .then(|| history_entry(status, OrderStatus::Confirmed, Some("paid".into()), now));
    repo::record_paid(conn, id, paid, Money::ZERO, confirm.as_ref(), now)?;
    if confirm.is_some() {
        announce_status(conn, id)?;
    }
    Ok(())
}

/// The order's amount paid after a refund. Refunded in full, an order not yet shipped is
/// cancelled (stock and coupon back); a shipped or delivered one becomes `refunded` (the goods
/// are out; returns are recorded as movements by staff). Like `record_paid`, under the order's
/// row lock, with `status` as locked.
pub(crate) fn record_refunded(
    conn: &mut PgConnection,
    id: OrderId,
    status: Option<OrderStatus>,
    paid: Money,
    refunded: Money,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let to = match status {
        Some(status) if paid.is_zero() && status.shipped() => Some(OrderStatus::Refunded),
        Some(status) if paid.is_zero() && status.takes_payments() => Some(OrderStatus::Cancelled),
        _ => None,
    };
    let change = to.map(|to| history_entry(status, to, Some("refunded in full".into()), now));
    repo::record_paid(conn, id, paid, refunded, change.as_ref(), now)?;
    if to == Some(OrderStatus::Cancelled) {
        give_back(conn, id, now)?;
    }
    if change.is_some() {
        announce_status(conn, id)?;
    }
    Ok(())
}

/// The complete order: the order (items with product snapshots, history), its client, and the
/// client's preferences from MongoDB.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub client: Client,
    /// `None` when degraded or when the client's document is missing.
    pub preferences: Option<Map<String, Value>>,
    pub info_status: crate::domain::view::InfoStatus,
    pub degraded: Option<Degraded>,
}

/// PostgreSQL first, in one snapshot (the order names the client), then the client's
/// document; MongoDB being down degrades the view instead of failing it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn view(state: &AppState, id: OrderId) -> AppResult<OrderView> {
    use crate::domain::view::InfoStatus;
    let (order, client) = state
        .db
        .read(move |conn| {
            let order = repo::find(conn, id)?.found(id)?;
            let client = clients::find(conn, order.client_id)?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {id} has no client")))?;
            Ok((order, client))
        })
        .await?;
    let (preferences, info_status, degraded) = match state.info.get(client.id, Some(0)).await {
        Ok(Some(info)) => (Some(info.preferences), InfoStatus::Present, None),
        Ok(None) => (None, InfoStatus::Missing, None),
        Err(err) => {
            tracing::warn!(order_id = %id, error = %err, "order view degraded: MongoDB part missing");
            let reason = super::degraded_reason(&err);
            (None, InfoStatus::Unavailable, Some(Degraded { missing: vec!["client_preferences"], reason }))
        }
    };
    Ok(OrderView { order, client, preferences, info_status, degraded })
}
