//! `/api/v1/orders`

use super::catalog::created;
use crate::app::orders::{self, CancelInput, OrderInput, OrderListParams, OrderView, StatusInput};
use crate::app::AppState;
use crate::domain::ids::OrderId;
use crate::domain::orders::Order;
use crate::http::dto::{ClientResponse, DegradedResponse, PageOf};
use crate::http::extract::{JsonBody, OptionalJsonBody};
use crate::http::problem::{ApiResult, Problem};
use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// The complete order: items with product snapshots, status history, the client, and the
/// client's preferences from MongoDB.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderViewResponse {
    pub order: Order,
    pub client: ClientResponse,
    /// `null` only when the view is degraded.
    #[schema(value_type = Option<Object>, example = json!({"language": "en", "payment_method": "card"}))]
    pub client_preferences: Option<Map<String, Value>>,
    /// `null` when both stores answered.
    pub degraded: Option<DegradedResponse>,
}

impl From<OrderView> for OrderViewResponse {
    fn from(view: OrderView) -> Self {
        OrderViewResponse {
            order: view.order,
            client: view.client.into(),
            client_preferences: view.preferences,
            degraded: view.degraded.map(Into::into),
        }
    }
}

#[utoipa::path(
    tag = "orders",
    request_body = OrderInput,
    responses(
        (status = 201, description = "Order placed: stock taken, prices snapshotted, totals computed exactly", body = Order,
            headers(("Location" = String, description = "URL of the new order"))),
        (status = 409, description = "`insufficient_stock` (`details` names the product and what is available), \
            `product_inactive`, `client_inactive`, `coupon_exhausted`, `coupon_already_used`, `coupon_expired`, \
            `coupon_not_yet_valid`, `coupon_inactive` or `coupon_minimum_not_met`; nothing is written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, `unknown_client`, `unknown_product` or `unknown_coupon`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders")]
pub async fn place_order(state: web::Data<AppState>, JsonBody(input): JsonBody<OrderInput>) -> ApiResult<HttpResponse> {
    let order = orders::place(&state, input).await?;
    Ok(created(format!("/api/v1/orders/{}", order.id), &order))
}

#[utoipa::path(
    tag = "orders",
    params(OrderListParams),
    responses((status = 200, description = "Orders, newest first, with items and history", body = PageOf<Order>))
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    query: web::Query<OrderListParams>,
) -> ApiResult<web::Json<PageOf<Order>>> {
    let page = orders::list(&state, query.into_inner()).await?;
    Ok(web::Json(PageOf::from_page(page, |o| o)))
}

#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order with items and status history", body = Order),
        (status = 404, description = "`order_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}")]
pub async fn get_order(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Order>> {
    Ok(web::Json(orders::get(&state, OrderId(*id)).await?))
}

#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The complete order; `degraded` names what MongoDB could not give", body = OrderViewResponse),
        (status = 404, description = "`order_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{id}/view")]
pub async fn order_view(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<OrderViewResponse>> {
    Ok(web::Json(orders::view(&state, OrderId(*id)).await?.into()))
}

#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = StatusInput,
    responses(
        (status = 200, description = "The order in its new status; cancelling restores the stock", body = Order),
        (status = 404, description = "`order_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`; `details.allowed` lists the statuses allowed now", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/status")]
pub async fn change_order_status(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<StatusInput>,
) -> ApiResult<web::Json<Order>> {
    Ok(web::Json(orders::change_status(&state, OrderId(*id), input).await?))
}

#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body(content = Option<CancelInput>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, description = "The cancelled order; its stock and coupon redemption are given back", body = Order),
        (status = 404, description = "`order_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: only pending or confirmed orders can be cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    OptionalJsonBody(input): OptionalJsonBody<CancelInput>,
) -> ApiResult<web::Json<Order>> {
    Ok(web::Json(orders::cancel(&state, OrderId(*id), input).await?))
}
