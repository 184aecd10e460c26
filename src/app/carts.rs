//! A customer's server-side cart: lines added, changed and removed under the cart's lock (one
//! cart per client, shared by every device they sign in on), a coupon code, and checkout, which
//! turns the cart into an order in one transaction through the same path as a staff order
//! (`orders::place_in`): stock taken row by row, never oversold, prices and coupon as they stand
//! at that moment, and the cart emptied in the same commit.

use super::constraints::{invalid, length, out_of_range, Meaning, Rule};
use super::idempotency::recovery_point;
use super::orders::place_in;
use super::{clock, AppError, AppResult, AppState};
use crate::domain::carts::{Cart, MAX_LINES, MAX_QUANTITY};
use crate::domain::coupons::Coupon;
use crate::domain::ids::{own_path, ClientId, ProductId};
use crate::domain::orders::{NewOrder, Order, OrderLine, PaymentMethod};
use crate::domain::precondition::{Precondition, Tagged};
use crate::store::pg::{carts as repo, catalog, coupons};
use chrono::{DateTime, Utc};
use diesel::PgConnection;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("carts_coupon_code_check", length("coupon_code", 1, 64)),
    Rule::Check("cart_lines_quantity_check", out_of_range("quantity", "must be between 1 and 1000")),
    Rule::foreign_key("carts_client_id_fkey", Meaning::Invariant, None),
    Rule::foreign_key("cart_lines_client_id_fkey", Meaning::Invariant, None),
    Rule::foreign_key(
        "cart_lines_product_id_fkey",
        invalid("product_id", "unknown_product", "no product has this id"),
        None,
    ),
];

impl Tagged for Cart {
    fn tag(&self) -> String {
        self.version.to_string()
    }
}

/// The cart and the coupon its code names (if any), read together.
#[derive(Debug, Clone)]
pub struct CartView {
    pub cart: Cart,
    pub coupon: Option<Coupon>,
    pub now: DateTime<Utc>,
}

impl Tagged for CartView {
    fn tag(&self) -> String {
        self.cart.tag()
    }
}

/// What a change does to the cart.
#[derive(Debug, Clone)]
pub enum CartChange {
    /// Adds units of a product (to its line, if there is one).
    Add {
        product: ProductId,
        quantity: i32,
    },
    /// Sets a line's quantity (adding the line if it is new).
    Set {
        product: ProductId,
        quantity: i32,
    },
    Remove {
        product: ProductId,
    },
    /// Sets or clears the coupon code (any code that names a coupon; whether it applies is
    /// shown in the totals and decided at checkout).
    Coupon(Option<String>),
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, client: ClientId) -> AppResult<CartView> {
    let now = clock::now();
    state
        .db
        .read(move |conn| {
            let cart = repo::find(conn, client, now)?;
            view(conn, cart, now)
        })
        .await
}

/// Applies the change under the cart's lock, if `precondition` names its current tag.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change(
    state: &AppState,
    client: ClientId,
    change: CartChange,
    precondition: Precondition,
) -> AppResult<CartView> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let cart = repo::lock_or_create(conn, client, now)?;
            precondition.check(&cart)?;
            apply(conn, &cart, change, now)?;
            // Already locked and made: a plain read of it as changed.
            let changed = repo::find(conn, client, now)?;
            view(conn, changed, now)
        })
        .await
}

fn apply(conn: &mut PgConnection, cart: &Cart, change: CartChange, now: DateTime<Utc>) -> AppResult<()> {
    let client = cart.client_id;
    let held = |product: ProductId| cart.lines.iter().find(|line| line.product.id == product).map(|l| l.quantity);
    match change {
        CartChange::Add { product, quantity } => {
            let total = i64::from(held(product).unwrap_or(0)) + i64::from(quantity);
            let total = i32::try_from(total).ok().filter(|t| *t <= MAX_QUANTITY).ok_or_else(|| {
                AppError::invalid("quantity", "out_of_range", format!("a line holds at most {MAX_QUANTITY} units"))
            })?;
            admit_line(conn, cart, product, held(product).is_some())?;
            repo::set_line(conn, client, product, total, now)?;
            repo::touch(conn, client, None, now)?;
        }
        CartChange::Set { product, quantity } => {
            admit_line(conn, cart, product, held(product).is_some())?;
            repo::set_line(conn, client, product, quantity, now)?;
            repo::touch(conn, client, None, now)?;
        }
        CartChange::Remove { product } => {
            if !repo::remove_line(conn, client, product)? {
                return Err(AppError::NotFound { resource: "cart_line", id: product.to_string() });
            }
            repo::touch(conn, client, None, now)?;
        }
        CartChange::Coupon(code) => {
            if let Some(code) = &code {
                if coupons::find_by_code(conn, code)?.is_none() {
                    return Err(AppError::invalid("coupon_code", "unknown_coupon", "no coupon has this code"));
                }
            }
            repo::touch(conn, client, Some(code.as_deref()), now)?;
        }
    }
    Ok(())
}

/// A product may join the cart while it is for sale, and the cart has room; a line already in
/// the cart may always change (so a customer can lower or fix it).
fn admit_line(conn: &mut PgConnection, cart: &Cart, product: ProductId, held: bool) -> AppResult<()> {
    if held {
        return Ok(());
    }
    let found = catalog::find_product(conn, product)?.ok_or_else(|| AppError::not_found(product))?;
    if !found.active {
        return Err(AppError::conflict(
            "product_inactive",
            Some("product_id"),
            format!("{} is not for sale", found.name),
        ));
    }
    if cart.lines.len() >= MAX_LINES {
        return Err(AppError::conflict("cart_full", None, format!("a cart holds at most {MAX_LINES} lines")));
    }
    Ok(())
}

fn view(conn: &mut PgConnection, cart: Cart, now: DateTime<Utc>) -> AppResult<CartView> {
    let coupon = match &cart.coupon_code {
        Some(code) => coupons::find_by_code(conn, code)?,
        None => None,
    };
    Ok(CartView { cart, coupon, now })
}

/// Turns the cart into a pending order and empties it, in one transaction: all or nothing. The
/// stock is taken as for any order (a line that no longer fits refuses the whole checkout and
/// leaves the cart as it was).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn checkout(
    state: &AppState,
    client: ClientId,
    shipping_address: String,
    payment_method: PaymentMethod,
    precondition: Precondition,
) -> AppResult<Order> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let cart = repo::lock_or_create(conn, client, now)?;
            precondition.check(&cart)?;
            if cart.lines.is_empty() {
                return Err(AppError::conflict("cart_empty", None, "the cart has no lines to order"));
            }
            let order = NewOrder {
                client_id: client,
                lines: cart
                    .lines
                    .iter()
                    .map(|line| OrderLine { product_id: line.product.id, quantity: line.quantity.unsigned_abs() })
                    .collect(),
                shipping_address,
                payment_method,
                coupon_code: cart.coupon_code.clone(),
            };
            let order = place_in(conn, &order, now)?;
            repo::empty(conn, client, now)?;
            recovery_point(own_path("orders", Some(&order.id)));
            Ok(order)
        })
        .await
}
