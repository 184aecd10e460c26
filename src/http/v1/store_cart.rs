//! `/api/v1/store/me/cart`: a signed-in customer's server-side cart (one per customer, the same on
//! every device), its lines and coupon, and checkout, which turns it into an order in one
//! idempotent command. Every write answers the whole cart with its new `ETag`; `If-Match` makes
//! any of them conditional (two devices editing at once do not overwrite each other unseen).

use crate::app::carts::{self, CartChange, CartView};
use crate::app::AppState;
use crate::domain::carts::{CartLine, LineIssue};
use crate::domain::coupons::CouponRefusal;
use crate::domain::ids::{own_path, ProductId};
use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::http::access::Caller;
use crate::http::dto::{created, tagged};
use crate::http::extract::{IfMatch, JsonBody};
use crate::http::problem::ApiResult;
use crate::http::v1::store::StoreOrderResponse;
use crate::http::v1::storefront::StoreProductResponse;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

/// One line of the cart, priced as the catalog stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCartLineResponse {
    pub product: StoreProductResponse,
    #[schema(example = 2)]
    pub quantity: i32,
    /// The product's price now (checkout charges the price at that moment).
    pub unit_price: Money,
    pub line_total: Money,
    /// Why checkout would refuse the line as it stands: `inactive` (no longer for sale) or
    /// `insufficient_stock` (fewer units on hand than the line asks); `null` when it fits.
    pub issue: Option<LineIssue>,
    pub added_at: DateTime<Utc>,
}

impl From<CartLine> for StoreCartLineResponse {
    fn from(line: CartLine) -> Self {
        StoreCartLineResponse {
            issue: line.issue(),
            unit_price: line.product.price,
            line_total: line.line_total(),
            quantity: line.quantity,
            added_at: line.added_at,
            product: line.product.into(),
        }
    }
}

/// The customer's cart with its totals as checkout would make them now.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCartResponse {
    /// Oldest first.
    pub lines: Vec<StoreCartLineResponse>,
    pub coupon_code: Option<String>,
    /// Why the coupon would not apply now (`unknown_coupon`, `coupon_inactive`,
    /// `coupon_not_yet_valid`, `coupon_expired`, `coupon_minimum_not_met`); `null` when it does.
    pub coupon_issue: Option<&'static str>,
    /// Of the lines for sale.
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    /// Whether checkout would take the cart now: lines, none with an issue, a coupon that applies.
    pub ready: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<CartView> for StoreCartResponse {
    fn from(view: CartView) -> Self {
        let totals = view.cart.totals(view.coupon.as_ref(), view.now);
        let coupon_issue = match (&view.cart.coupon_code, &view.coupon, &totals.coupon_refusal) {
            (Some(_), None, _) => Some("unknown_coupon"),
            (_, _, Some(CouponRefusal::Inactive)) => Some("coupon_inactive"),
            (_, _, Some(CouponRefusal::NotYetValid)) => Some("coupon_not_yet_valid"),
            (_, _, Some(CouponRefusal::Expired)) => Some("coupon_expired"),
            (_, _, Some(CouponRefusal::BelowMinimum(_))) => Some("coupon_minimum_not_met"),
            _ => None,
        };
        StoreCartResponse {
            lines: view.cart.lines.into_iter().map(Into::into).collect(),
            coupon_code: view.cart.coupon_code,
            coupon_issue,
            subtotal: totals.subtotal,
            discount: totals.discount,
            total: totals.total,
            ready: totals.ready,
            updated_at: view.cart.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CartLineRequest {
    /// An active product of `GET /store/products`.
    pub product_id: ProductId,
    /// Units to add (a line holds at most 1,000).
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000, example = 1)]
    pub quantity: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CartQuantityRequest {
    #[validate(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000, example = 3)]
    pub quantity: i32,
}

/// Only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CartPatchRequest {
    /// A coupon's code; `null` takes the coupon off.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 64))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64, example = "WELCOME10")]
    pub coupon_code: Option<Option<String>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    #[validate(length(min = 1, max = 500), custom(function = crate::http::validation::not_blank))]
    #[schema(min_length = 1, max_length = 500, example = "5 Shop Street, 28001 Madrid")]
    pub shipping_address: String,
    pub payment_method: PaymentMethod,
}

/// Get my cart
///
/// The signed-in customer's cart (empty until something is added), each line priced as the
/// catalog stands now, with what checkout would refuse and the totals it would make.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    responses((status = 200, description = "The cart", body = StoreCartResponse))
)]
#[get("/store/me/cart")]
pub async fn get_my_cart(caller: Caller, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let view = carts::get(&state, caller.customer()?.client).await?;
    Ok(tagged::<_, StoreCartResponse>(view))
}

/// Change my cart
///
/// Sets or takes off (`null`) the coupon code; a code that names no coupon is 422. Whether the
/// coupon applies is shown in `coupon_issue` and decided at checkout.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(IfMatch),
    request_body = CartPatchRequest,
    responses(
        (status = 200, description = "The cart", body = StoreCartResponse),
        (status = 422, description = "`coupon_code` `unknown_coupon`"),
    )
)]
#[patch("/store/me/cart")]
pub async fn update_my_cart(
    caller: Caller,
    state: web::Data<AppState>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<CartPatchRequest>,
) -> ApiResult<HttpResponse> {
    let client = caller.customer()?.client;
    let view = match input.coupon_code {
        Some(code) => carts::change(&state, client, CartChange::Coupon(code), precondition).await?,
        None => carts::get(&state, client).await?,
    };
    Ok(tagged::<_, StoreCartResponse>(view))
}

/// Add to my cart
///
/// Adds units of an active product (to its line, if the cart has one). Nothing is reserved:
/// stock is taken at checkout.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(IfMatch),
    request_body = CartLineRequest,
    responses(
        (status = 200, description = "The cart", body = StoreCartResponse),
        (status = 404, description = "`product_not_found`"),
        (status = 409, description = "`product_inactive` or `cart_full` (100 lines)"),
        (status = 422, description = "`quantity` `out_of_range`: a line holds at most 1,000 units"),
    )
)]
#[post("/store/me/cart/lines")]
pub async fn add_to_my_cart(
    caller: Caller,
    state: web::Data<AppState>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<CartLineRequest>,
) -> ApiResult<HttpResponse> {
    let change = CartChange::Add { product: input.product_id, quantity: input.quantity };
    let view = carts::change(&state, caller.customer()?.client, change, precondition).await?;
    Ok(tagged::<_, StoreCartResponse>(view))
}

/// Set a line of my cart
///
/// Sets the quantity of the product's line (adding the line if the product is for sale and not
/// in the cart yet).
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("product_id" = Uuid, Path, description = "Product id"), IfMatch),
    request_body = CartQuantityRequest,
    responses(
        (status = 200, description = "The cart", body = StoreCartResponse),
        (status = 404, description = "`product_not_found`"),
        (status = 409, description = "`product_inactive` or `cart_full`"),
    )
)]
#[put("/store/me/cart/lines/{product_id}")]
pub async fn set_my_cart_line(
    caller: Caller,
    state: web::Data<AppState>,
    product_id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<CartQuantityRequest>,
) -> ApiResult<HttpResponse> {
    let change = CartChange::Set { product: ProductId(*product_id), quantity: input.quantity };
    let view = carts::change(&state, caller.customer()?.client, change, precondition).await?;
    Ok(tagged::<_, StoreCartResponse>(view))
}

/// Remove a line of my cart
///
/// Takes the product's line out of the cart and answers the cart.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(("product_id" = Uuid, Path, description = "Product id"), IfMatch),
    responses(
        (status = 200, description = "The cart", body = StoreCartResponse),
        (status = 404, description = "`cart_line_not_found`: the product is not in the cart"),
    )
)]
#[delete("/store/me/cart/lines/{product_id}")]
pub async fn remove_my_cart_line(
    caller: Caller,
    state: web::Data<AppState>,
    product_id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    let change = CartChange::Remove { product: ProductId(*product_id) };
    let view = carts::change(&state, caller.customer()?.client, change, precondition).await?;
    Ok(tagged::<_, StoreCartResponse>(view))
}

/// Check out my cart
///
/// Turns the cart into a pending order and empties it, in one transaction: prices, stock and
/// the coupon are checked again at this moment, and stock is taken as for any order (never
/// oversold, however many check out at once). A line that no longer fits refuses the whole
/// checkout (409 naming the product) and leaves the cart as it was. `Idempotency-Key` is
/// required: a retry answers the same order. Pay it with `POST /store/me/payments`.
#[utoipa::path(
    security(("store_session" = [])),
    tag = "store",
    params(IfMatch),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "The order placed", body = StoreOrderResponse,
            headers(("Location" = String, description = "URL of the customer's order"))),
        (status = 409, description = "`cart_empty`, `insufficient_stock` or `product_inactive` (`details.product_id`), `client_inactive`, or a coupon's refusal (`coupon_expired`, `coupon_exhausted`, …)"),
        (status = 422, description = "Invalid fields; `coupon_code` `unknown_coupon`"),
    )
)]
#[post("/store/me/cart/checkout")]
pub async fn check_out_my_cart(
    caller: Caller,
    state: web::Data<AppState>,
    IfMatch(precondition): IfMatch,
    JsonBody(input): JsonBody<CheckoutRequest>,
) -> ApiResult<HttpResponse> {
    let client = caller.customer()?.client;
    let order = carts::checkout(&state, client, input.shipping_address, input.payment_method, precondition).await?;
    Ok(created(own_path("orders", Some(&order.id)), &StoreOrderResponse::from(order)))
}
