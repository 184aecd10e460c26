//! Carts (`carts`, `cart_lines`): one per client, its lines read with their products as they are
//! now. Every change of the lines touches the cart row, whose version (`r.next_version`) is the
//! cart's tag.

use super::catalog::ProductRow;
use super::schema::{cart_lines, carts, products};
use crate::domain::carts::{Cart, CartLine};
use crate::domain::ids::{ClientId, ProductId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = carts, check_for_backend(diesel::pg::Pg))]
struct CartRow {
    coupon_code: Option<String>,
    version: i32,
    updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = cart_lines, check_for_backend(diesel::pg::Pg))]
struct LineRow {
    quantity: i32,
    added_at: DateTime<Utc>,
}

/// The client's cart, made empty if it had none, row-locked until the transaction ends.
pub fn lock_or_create(conn: &mut PgConnection, client: ClientId, now: DateTime<Utc>) -> QueryResult<Cart> {
    diesel::insert_into(carts::table)
        .values((carts::client_id.eq(client.0), carts::created_at.eq(now), carts::updated_at.eq(now)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let row = carts::table.find(client.0).select(CartRow::as_select()).for_update().first(conn)?;
    with_lines(conn, client, row)
}

/// The client's cart as it is; a new, empty one (version 1, as it will be made) when it has none.
pub fn find(conn: &mut PgConnection, client: ClientId, now: DateTime<Utc>) -> QueryResult<Cart> {
    let row = carts::table.find(client.0).select(CartRow::as_select()).first(conn).optional()?;
    let row = row.unwrap_or(CartRow { coupon_code: None, version: 1, updated_at: now });
    with_lines(conn, client, row)
}

fn with_lines(conn: &mut PgConnection, client: ClientId, row: CartRow) -> QueryResult<Cart> {
    let lines = cart_lines::table
        .inner_join(products::table)
        .filter(cart_lines::client_id.eq(client.0))
        .order((cart_lines::added_at, cart_lines::product_id))
        .select((LineRow::as_select(), ProductRow::as_select()))
        .load::<(LineRow, ProductRow)>(conn)?
        .into_iter()
        .map(|(line, product)| CartLine { product: product.into(), quantity: line.quantity, added_at: line.added_at })
        .collect();
    Ok(Cart {
        client_id: client,
        coupon_code: row.coupon_code,
        lines,
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// Sets the line's quantity (adding the line if it is new).
pub fn set_line(
    conn: &mut PgConnection,
    client: ClientId,
    product: ProductId,
    quantity: i32,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(cart_lines::table)
        .values((
            cart_lines::client_id.eq(client.0),
            cart_lines::product_id.eq(product.0),
            cart_lines::quantity.eq(quantity),
            cart_lines::added_at.eq(now),
        ))
        .on_conflict((cart_lines::client_id, cart_lines::product_id))
        .do_update()
        .set(cart_lines::quantity.eq(quantity))
        .execute(conn)
        .map(drop)
}

/// Whether the line was there.
pub fn remove_line(conn: &mut PgConnection, client: ClientId, product: ProductId) -> QueryResult<bool> {
    let removed = diesel::delete(cart_lines::table.find((client.0, product.0))).execute(conn)?;
    Ok(removed > 0)
}

/// Marks a change of the cart (its version moves) and sets its coupon code when given.
pub fn touch(
    conn: &mut PgConnection,
    client: ClientId,
    coupon_code: Option<Option<&str>>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let target = carts::table.find(client.0);
    match coupon_code {
        Some(code) => {
            diesel::update(target).set((carts::coupon_code.eq(code), carts::updated_at.eq(now))).execute(conn)
        }
        None => diesel::update(target).set(carts::updated_at.eq(now)).execute(conn),
    }
    .map(drop)
}

/// Empties the cart (its lines and its coupon), as checkout does.
pub fn empty(conn: &mut PgConnection, client: ClientId, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::delete(cart_lines::table.filter(cart_lines::client_id.eq(client.0))).execute(conn)?;
    touch(conn, client, Some(None), now)
}
