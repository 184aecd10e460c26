//! Orders: placed in one transaction that takes stock, prices the lines exactly, redeems the
//! coupon and records everything; then moved through the status machine.
//!
//! Races: each line's stock is taken by one conditional `UPDATE … WHERE stock >= quantity`, in
//! product id order (so two orders never wait on each other in a cycle); the coupon's
//! redemption is another conditional `UPDATE`; "once per client" is a partial unique index.
//! Status changes lock the order row, so of two concurrent changes the second sees the first.
//! Repeated products in one request are merged (quantities added).

use super::catalog::movement;
use super::validation::validate;
use super::{AppError, AppResult, AppState};
use crate::domain::catalog::MovementKind;
use crate::domain::ids::{OrderId, StatusChangeId};
use crate::domain::money::Money;
use crate::domain::orders::{merge_lines, CouponRefusal, Order, OrderStatus, PaymentMethod, PricedLine};
use crate::domain::page::{encode_cursor, Page};
use crate::store::pg::models::{NewRedemption, OrderItemRow, OrderRow, StatusChangeRow};
use crate::store::pg::orders::{self as repo, OrderFilter};
use crate::store::pg::{catalog, clients};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    pub product_id: Uuid,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000, example = 2)]
    pub quantity: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub client_id: Uuid,
    /// 1 to 50 lines; the same product twice is merged into one line.
    #[validate(length(min = 1, max = 50), nested)]
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<OrderLineInput>,
    #[validate(length(min = 1, max = 500), custom(function = super::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 500,
        example = "221B Baker Street, London"
    )]
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
    /// Matched regardless of case.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40, example = "SPRING10")]
    pub coupon_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    pub status: OrderStatus,
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Handed to the carrier")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Client changed their mind")]
    pub note: Option<String>,
}

/// Filters for `GET /orders`; newest first.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    pub client_id: Option<Uuid>,
    #[param(inline)]
    pub status: Option<OrderStatus>,
    /// Orders created at or after this instant (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Orders created before this instant (RFC 3339).
    pub created_until: Option<DateTime<Utc>>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn history_row(order: Uuid, from: Option<OrderStatus>, to: OrderStatus, note: Option<String>) -> StatusChangeRow {
    StatusChangeRow {
        id: StatusChangeId::new().0,
        order_id: order,
        from_status: from.map(|s| s.as_str().to_string()),
        to_status: to.as_str().to_string(),
        note,
        changed_at: super::now(),
    }
}

pub async fn place(state: &AppState, input: OrderInput) -> AppResult<Order> {
    validate(&input)?;
    state.db.run(move |conn| conn.transaction(|conn| place_in(conn, &input))).await
}

pub(crate) fn place_in(conn: &mut PgConnection, input: &OrderInput) -> AppResult<Order> {
    let client = clients::find(conn, input.client_id)?
        .ok_or_else(|| AppError::invalid("client_id", "unknown_client", "no client has this id"))?;
    if !client.active {
        return Err(AppError::conflict("client_inactive", Some("client_id"), "inactive clients cannot order"));
    }
    let requested: Vec<(Uuid, u32)> =
        input.items.iter().map(|line| (line.product_id, line.quantity.unsigned_abs())).collect();
    let field_of = |product: Uuid| {
        let index = input.items.iter().position(|line| line.product_id == product).unwrap_or(0);
        format!("items[{index}]")
    };
    let order_id = OrderId::new();
    let mut lines = Vec::new();
    let mut items = Vec::new();
    let mut movements = Vec::new();
    for (product_id, quantity) in merge_lines(&requested) {
        let quantity = i32::try_from(quantity).unwrap_or(i32::MAX);
        let Some(product) = catalog::take_stock(conn, product_id, quantity)? else {
            return Err(refuse_line(conn, product_id, quantity, field_of(product_id))?);
        };
        let unit_price = Money::from_decimal(product.price);
        let line = PricedLine::new(product_id, unit_price, quantity.unsigned_abs());
        items.push(OrderItemRow {
            order_id: order_id.0,
            product_id,
            product_name: product.name.clone(),
            product_slug: product.slug.clone(),
            unit_price: unit_price.amount(),
            quantity,
            line_total: line.line_total.amount(),
        });
        let reason = format!("order {order_id}");
        movements.push(movement(
            product_id,
            MovementKind::Out,
            quantity,
            -quantity,
            product.stock,
            &reason,
            Some(order_id),
        ));
        lines.push(line);
    }
    let subtotal: Money = lines.iter().map(|line| line.line_total).sum();

    let mut discount = Money::ZERO;
    let mut coupon_used = None;
    if let Some(code) = input.coupon_code.as_deref() {
        let coupon = repo::find_coupon_by_code(conn, code)?
            .ok_or_else(|| AppError::invalid("coupon_code", "unknown_coupon", "no coupon has this code"))?
            .into_domain()?;
        discount = coupon.terms().discount(subtotal, super::now()).map_err(|refusal| match refusal {
            CouponRefusal::Inactive => {
                AppError::conflict("coupon_inactive", Some("coupon_code"), "this coupon is not active")
            }
            CouponRefusal::NotYetValid => {
                AppError::conflict("coupon_not_yet_valid", Some("coupon_code"), "this coupon is not valid yet")
            }
            CouponRefusal::Expired => {
                AppError::conflict("coupon_expired", Some("coupon_code"), "this coupon has expired")
            }
            CouponRefusal::BelowMinimum(minimum) => AppError::conflict_with(
                "coupon_minimum_not_met",
                Some("coupon_code".into()),
                format!("this coupon needs a subtotal of at least {minimum}"),
                json!({"min_order_amount": minimum, "subtotal": subtotal}),
            ),
        })?;
        if !repo::take_redemption(conn, coupon.id.0)? {
            return Err(AppError::conflict(
                "coupon_exhausted",
                Some("coupon_code"),
                "this coupon has no redemptions left",
            ));
        }
        coupon_used = Some(coupon);
    }

    let now = super::now();
    let order = OrderRow {
        id: order_id.0,
        client_id: client.id,
        status: OrderStatus::Pending.as_str().to_string(),
        shipping_address: input.shipping_address.clone(),
        payment_method: input.payment_method.as_str().to_string(),
        coupon_id: coupon_used.as_ref().map(|c| c.id.0),
        coupon_code: coupon_used.as_ref().map(|c| c.code.clone()),
        subtotal: subtotal.amount(),
        discount: discount.amount(),
        total: subtotal.saturating_sub(discount).amount(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let created = history_row(order_id.0, None, OrderStatus::Pending, Some("order placed".into()));
    repo::insert_order(conn, &order, &items, &created)?;
    clients::mark_active(conn, client.id)?;
    if let Some(coupon) = &coupon_used {
        let redemption = NewRedemption {
            order_id: order_id.0,
            coupon_id: coupon.id.0,
            client_id: client.id,
            once_per_client: coupon.once_per_client,
        };
        repo::insert_redemption(conn, &redemption)?;
    }
    catalog::insert_movements(conn, &movements)?;
    Ok(order.into_domain(items, vec![created])?)
}

/// Why a line's stock could not be taken: unknown or inactive product, or not enough units.
fn refuse_line(conn: &mut PgConnection, product_id: Uuid, quantity: i32, field: String) -> AppResult<AppError> {
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

pub async fn get(state: &AppState, id: OrderId) -> AppResult<Order> {
    state.db.run(move |conn| load(conn, id)).await
}

pub(crate) fn load(conn: &mut PgConnection, id: OrderId) -> AppResult<Order> {
    let order = repo::find_order(conn, id.0)?.ok_or_else(|| AppError::not_found("order", id))?;
    let (mut items, mut history) = repo::details_of(conn, &[id.0])?;
    Ok(order.into_domain(items.remove(&id.0).unwrap_or_default(), history.remove(&id.0).unwrap_or_default())?)
}

pub async fn list(state: &AppState, params: OrderListParams) -> AppResult<Page<Order>> {
    let limit = super::page_limit(params.limit, None)?;
    let before = super::companies::decode_id_cursor(params.cursor.as_deref())?;
    let filter = OrderFilter {
        client_id: params.client_id,
        status: params.status.map(OrderStatus::as_str),
        created_from: params.created_from,
        created_until: params.created_until,
    };
    state
        .db
        .run(move |conn| {
            let rows = repo::list_orders(conn, &filter, before, limit + 1)?;
            let page = Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id));
            let ids: Vec<Uuid> = page.items.iter().map(|row| row.id).collect();
            let (mut items, mut history) = repo::details_of(conn, &ids)?;
            let orders = page
                .items
                .into_iter()
                .map(|row| {
                    let id = row.id;
                    row.into_domain(items.remove(&id).unwrap_or_default(), history.remove(&id).unwrap_or_default())
                })
                .collect::<Result<_, _>>()?;
            Ok(Page { items: orders, next_cursor: page.next_cursor })
        })
        .await
}

/// Moves the order to `to` under its row lock. Cancelling puts the stock back (recorded as
/// `in` movements) and gives the coupon redemption back.
pub async fn change_status(state: &AppState, id: OrderId, input: StatusInput) -> AppResult<Order> {
    validate(&input)?;
    state.db.run(move |conn| conn.transaction(|conn| change_status_in(conn, id, input.status, input.note))).await
}

pub async fn cancel(state: &AppState, id: OrderId, input: CancelInput) -> AppResult<Order> {
    validate(&input)?;
    change_status(state, id, StatusInput { status: OrderStatus::Cancelled, note: input.note }).await
}

pub(crate) fn change_status_in(
    conn: &mut PgConnection,
    id: OrderId,
    to: OrderStatus,
    note: Option<String>,
) -> AppResult<Order> {
    let order = repo::lock_order(conn, id.0)?.ok_or_else(|| AppError::not_found("order", id))?;
    let from = OrderStatus::parse(&order.status)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("orders.status holds {:?}", order.status)))?;
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
    repo::set_status(conn, id.0, to.as_str(), &history_row(id.0, Some(from), to, note))?;
    if to == OrderStatus::Cancelled {
        let (mut items, _) = repo::details_of(conn, &[id.0])?;
        let mut movements = Vec::new();
        for item in items.remove(&id.0).unwrap_or_default() {
            let stock = catalog::return_stock(conn, item.product_id, item.quantity)?;
            let reason = format!("order {id} cancelled");
            movements.push(movement(
                item.product_id,
                MovementKind::In,
                item.quantity,
                item.quantity,
                stock,
                &reason,
                Some(id),
            ));
        }
        catalog::insert_movements(conn, &movements)?;
        repo::release_redemption(conn, id.0)?;
    }
    load(conn, id)
}

/// The complete order: the order (items with product snapshots, history), its client, and the
/// client's preferences from MongoDB.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub client: crate::domain::client::Client,
    /// `None` only when degraded.
    pub preferences: Option<serde_json::Map<String, serde_json::Value>>,
    pub degraded: Option<crate::domain::view::Degraded>,
}

/// PostgreSQL first (the order names the client), then the client's document; MongoDB being
/// down degrades the view instead of failing it.
pub async fn view(state: &AppState, id: OrderId) -> AppResult<OrderView> {
    let (order, client) = state
        .db
        .run(move |conn| {
            let order = load(conn, id)?;
            let row = clients::find(conn, order.client_id.0)?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {id} has no client")))?;
            Ok::<_, AppError>((order, super::clients::with_interests(conn, row)?))
        })
        .await?;
    let (preferences, degraded) = match state.info.get(client.id, Some(0)).await {
        Ok(info) => (Some(info.unwrap_or_default().preferences), None),
        Err(err) => {
            tracing::warn!(order_id = %id, error = %err, "order view degraded: MongoDB part missing");
            let reason = super::degraded_reason(&err);
            (None, Some(crate::domain::view::Degraded { missing: vec!["client_preferences"], reason }))
        }
    };
    Ok(OrderView { order, client, preferences, degraded })
}
