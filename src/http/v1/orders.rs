//! `/api/v1/orders`

use super::clients::ClientResponse;
use crate::app::orders::{self, OrderView};
use crate::app::AppState;
use crate::domain::access::Family;
use crate::domain::ids::{ClientId, Located, OrderId, ProductId};
use crate::domain::money::Money;
use crate::domain::orders::{
    NewOrder, Order, OrderFilter, OrderItem, OrderLine, OrderStatus, PaymentMethod, StatusChange,
};
use crate::domain::time::Timestamp;
use crate::domain::view::InfoStatus;
use crate::http::access::Caller;
use crate::http::dto::{created_tagged, tagged, DegradedResponse, PageOf};
use crate::http::dto::{Disclosure, Withheld};
use crate::http::extract::{list_query, IfMatch, JsonBody, OptionalJsonBody, Query};
use crate::http::problem::ApiResult;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    pub product_id: ProductId,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000, example = 2)]
    pub quantity: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub client_id: ClientId,
    /// 1 to 50 lines; the same product twice is merged into one line.
    #[validate(length(min = 1, max = 50), nested)]
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<OrderLineRequest>,
    #[validate(length(min = 1, max = 500), custom(function = crate::http::validation::not_blank))]
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

impl From<OrderRequest> for NewOrder {
    fn from(r: OrderRequest) -> Self {
        NewOrder {
            client_id: r.client_id,
            lines: r
                .items
                .iter()
                .map(|line| OrderLine { product_id: line.product_id, quantity: line.quantity.unsigned_abs() })
                .collect(),
            shipping_address: r.shipping_address,
            payment_method: r.payment_method,
            coupon_code: r.coupon_code,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: OrderStatus,
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Handed to the carrier")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Client changed their mind")]
    pub note: Option<String>,
}

list_query! {
    /// Filters for `GET /orders`; newest first.
    pub struct OrderListQuery {
        pub client_id: Option<Uuid>,
        #[param(inline)]
        pub status: Option<OrderStatus>,
        /// Orders created at or after this instant (RFC 3339, years 0001 to 9999).
        pub created_from: Option<Timestamp>,
        /// Orders created before this instant (RFC 3339, years 0001 to 9999).
        pub created_until: Option<Timestamp>,
    }
}

/// One line of an order, with the product as it was sold.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemResponse {
    pub product_id: ProductId,
    /// Snapshot at the time of the order.
    #[schema(example = "Dovetail starter kit")]
    pub product_name: String,
    pub product_slug: String,
    /// Snapshot at the time of the order.
    pub unit_price: Money,
    #[schema(example = 2)]
    pub quantity: i32,
    /// `unit_price × quantity`, exact.
    pub line_total: Money,
}

impl From<OrderItem> for OrderItemResponse {
    fn from(i: OrderItem) -> Self {
        OrderItemResponse {
            product_id: i.product_id,
            product_name: i.product_name,
            product_slug: i.product_slug,
            unit_price: i.unit_price,
            quantity: i.quantity,
            line_total: i.line_total,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeResponse {
    /// `null` for the order's creation.
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

impl From<StatusChange> for StatusChangeResponse {
    fn from(c: StatusChange) -> Self {
        StatusChangeResponse { from: c.from, to: c.to, note: c.note, changed_at: c.changed_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResponse {
    pub id: OrderId,
    pub client_id: ClientId,
    pub status: OrderStatus,
    /// The statuses `POST /orders/{id}/status` accepts now.
    pub allowed_transitions: Vec<OrderStatus>,
    #[schema(example = "221B Baker Street, London")]
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
    pub coupon_code: Option<String>,
    /// Sum of the line totals.
    pub subtotal: Money,
    pub discount: Money,
    /// `subtotal - discount`, never negative.
    pub total: Money,
    /// Succeeded payments less refunds.
    pub amount_paid: Money,
    /// What was refunded: credited to the order, so no longer owed (a refund is money going
    /// back, not a new debt).
    pub amount_refunded: Money,
    /// What is still owed: `total - amount_refunded - amount_paid` (zero once cancelled or
    /// refunded): a refund never makes an order owe again.
    pub balance: Money,
    pub items: Vec<OrderItemResponse>,
    /// Oldest first; the first entry is the order's creation.
    pub status_history: Vec<StatusChangeResponse>,
    /// Increases with every status change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderResponse {
    fn from(o: Order) -> Self {
        let balance = o.balance();
        OrderResponse {
            id: o.id,
            client_id: o.client_id,
            status: o.status,
            allowed_transitions: o.allowed_transitions,
            shipping_address: o.shipping_address,
            payment_method: o.payment_method,
            coupon_code: o.coupon_code,
            subtotal: o.subtotal,
            discount: o.discount,
            total: o.total,
            amount_paid: o.amount_paid,
            amount_refunded: o.amount_refunded,
            balance,
            items: o.items.into_iter().map(Into::into).collect(),
            status_history: o.status_history.into_iter().map(Into::into).collect(),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// The complete order: items with product snapshots, status history, the client, and the
/// client's preferences from MongoDB.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderViewResponse {
    pub order: OrderResponse,
    /// `null` for a key without `clients:read` (`withheld` says so).
    pub client: Option<ClientResponse>,
    /// `null` unless `info_status` is `present` and the key has `clients:read`.
    #[schema(value_type = Option<Object>, example = json!({"language": "en", "payment_method": "card"}))]
    pub client_preferences: Option<Map<String, Value>>,
    pub info_status: InfoStatus,
    /// `null` when both stores answered.
    pub degraded: Option<DegradedResponse>,
    /// The parts of other families this key cannot read, left out (empty when none).
    pub withheld: Vec<Withheld>,
}

impl OrderViewResponse {
    fn new(view: OrderView, mut disclosure: Disclosure) -> Self {
        let client = disclosure.part(Family::Clients, "client", view.client).map(Into::into);
        let client_preferences = match view.preferences {
            Some(preferences) => disclosure.part(Family::Clients, "client_preferences", preferences),
            None => None,
        };
        OrderViewResponse {
            order: view.order.into(),
            client,
            client_preferences,
            info_status: view.info_status,
            degraded: view.degraded.map(Into::into),
            withheld: disclosure.withheld,
        }
    }
}

/// Place an order
///
/// In one transaction: takes each line's stock (never more than there is), snapshots product
/// names and prices, computes exact totals, redeems the coupon with its terms as they stand at
/// that moment, and records the stock movements. Any refusal leaves nothing behind.
#[utoipa::path(
    security(("api_key" = ["orders:write"])),
    tag = "orders",
    request_body = OrderRequest,
    responses(
        (status = 201, description = "Order placed", body = OrderResponse,
            headers(("Location" = String, description = "URL of the new order"))),
        (status = 409, description = "`insufficient_stock` (`details` names the product and what is available), \
            `product_inactive`, `client_inactive`, `coupon_exhausted`, `coupon_already_used`, `coupon_expired`, \
            `coupon_not_yet_valid`, `coupon_inactive` or `coupon_minimum_not_met`; nothing is written"),
        (status = 422, description = "Invalid fields, `unknown_client`, `unknown_product` or `unknown_coupon`"),
    )
)]
#[post("/orders")]
pub async fn place_order(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<OrderRequest>,
) -> ApiResult<HttpResponse> {
    let order = orders::place(&state, input.into()).await?;
    Ok(created_tagged::<_, OrderResponse>(order.id.path(), order))
}

/// List orders
///
/// Newest first, with items and history; filter by client, status and creation time.
#[utoipa::path(
    security(("api_key" = ["orders:read"])),
    tag = "orders",
    params(OrderListQuery),
    responses((status = 200, description = "A page of orders", body = PageOf<OrderResponse>))
)]
#[get("/orders")]
pub async fn list_orders(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<OrderListQuery>,
) -> ApiResult<web::Json<PageOf<OrderResponse>>> {
    let filter = OrderFilter {
        client_id: query.client_id.map(ClientId),
        status: query.status,
        created_from: query.created_from.map(Timestamp::get),
        created_until: query.created_until.map(Timestamp::get),
    };
    let page = orders::list(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, OrderResponse::from)))
}

/// Get an order
///
/// The order with its items and status history, read in one snapshot (the status always agrees
/// with its history).
#[utoipa::path(
    security(("api_key" = ["orders:read"])),
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order with items and status history", body = OrderResponse),
        (status = 404, description = "`order_not_found`"),
    )
)]
#[get("/orders/{id}")]
pub async fn get_order(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, OrderResponse>(orders::get(&state, OrderId(*id)).await?))
}

/// Get the complete order
///
/// The order, its client and the client's MongoDB preferences. If MongoDB does not answer:
/// still 200, with `client_preferences: null` and `degraded` naming what is missing. The client
/// and its preferences need `clients:read` too: without it both are `null` and `withheld` names
/// them.
#[utoipa::path(
    security(("api_key" = ["orders:read"])),
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The complete order", body = OrderViewResponse),
        (status = 404, description = "`order_not_found`"),
    )
)]
#[get("/orders/{id}/view")]
pub async fn order_view(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<OrderViewResponse>> {
    Ok(web::Json(OrderViewResponse::new(orders::view(&state, OrderId(*id)).await?, caller.disclosure())))
}

/// Change an order's status
///
/// Along `pending → confirmed → processing → shipped → delivered`; `cancelled` from `pending` or
/// `confirmed` (stock and coupon redemption are given back). Under the order's lock: of two
/// simultaneous changes, the second sees the first.
#[utoipa::path(
    security(("api_key" = ["orders:write"])),
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), IfMatch),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The order in its new status", body = OrderResponse),
        (status = 404, description = "`order_not_found`"),
        (status = 409, description = "`invalid_transition`; `details.allowed` lists the statuses allowed now"),
    )
)]
#[post("/orders/{id}/status")]
pub async fn change_order_status(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<StatusRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, OrderResponse>(
        orders::change_status(&state, OrderId(*id), input.status, input.note, precondition).await?,
    ))
}

/// Cancel an order
///
/// Only pending or confirmed orders; the stock goes back (recorded as `in` movements) and so does
/// the coupon redemption. The body may be left out.
#[utoipa::path(
    security(("api_key" = ["orders:write"])),
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), IfMatch),
    request_body(content = Option<CancelRequest>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, description = "The cancelled order", body = OrderResponse),
        (status = 404, description = "`order_not_found`"),
        (status = 409, description = "`invalid_transition`: only pending or confirmed orders can be cancelled"),
    )
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    OptionalJsonBody(input): OptionalJsonBody<CancelRequest>,
) -> ApiResult<HttpResponse> {
    let cancelled = orders::change_status(&state, OrderId(*id), OrderStatus::Cancelled, input.note, precondition);
    Ok(tagged::<_, OrderResponse>(cancelled.await?))
}
