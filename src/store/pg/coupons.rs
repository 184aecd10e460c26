//! Repository functions for `coupons` and `coupon_redemptions`.

use super::lower;
use super::models::{CouponChangeset, CouponRow, NewRedemption};
use super::schema::{coupon_redemptions, coupons};
use crate::domain::coupons::{Coupon, CouponChanges};
use crate::domain::ids::{ClientId, CouponId, OrderId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, coupon: &Coupon) -> QueryResult<Coupon> {
    diesel::insert_into(coupons::table)
        .values(CouponRow::from(coupon))
        .returning(CouponRow::as_returning())
        .get_result::<CouponRow>(conn)?
        .into_domain()
}

by_id!(find, lock: coupons, CouponRow, CouponId => Coupon, CouponRow::into_domain);

/// Codes match regardless of case (the unique index is on `lower(code)`).
pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Coupon>> {
    coupons::table
        .filter(lower(coupons::code).eq(lower(code)))
        .select(CouponRow::as_select())
        .first::<CouponRow>(conn)
        .optional()?
        .map(CouponRow::into_domain)
        .transpose()
}

pub fn list(
    conn: &mut PgConnection,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Coupon>> {
    let mut query = coupons::table.select(CouponRow::as_select()).order(coupons::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(coupons::id.gt(after));
    }
    if let Some(text) = search {
        let pattern = super::like_pattern(text);
        query = query.filter(coupons::code.ilike(pattern.clone()).or(coupons::description.ilike(pattern)));
    }
    query.load::<CouponRow>(conn)?.into_iter().map(CouponRow::into_domain).collect()
}

pub fn update(
    conn: &mut PgConnection,
    id: CouponId,
    changes: &CouponChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<Coupon>> {
    diesel::update(coupons::table.find(id.0))
        .set(CouponChangeset::new(changes, now))
        .returning(CouponRow::as_returning())
        .get_result::<CouponRow>(conn)
        .optional()?
        .map(CouponRow::into_domain)
        .transpose()
}

pub fn delete(conn: &mut PgConnection, id: CouponId) -> QueryResult<bool> {
    diesel::delete(coupons::table.find(id.0)).execute(conn).map(|n| n > 0)
}

/// Takes one redemption of the coupon with this code and returns the coupon's terms as they are
/// now, in one conditional statement: concurrent orders never take more than
/// `max_redemptions`, and the terms come from the row as locked — a deactivation, expiry or new
/// value committed a moment earlier is what the caller sees, and one arriving later waits until
/// the caller's transaction ends. The caller checks the terms and rolls back when they refuse.
/// `None` when no coupon has the code or none is left.
pub fn redeem(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Coupon>> {
    diesel::update(coupons::table.filter(lower(coupons::code).eq(lower(code))).filter(
        coupons::max_redemptions.is_null().or(coupons::redemptions.lt(coupons::max_redemptions.assume_not_null())),
    ))
    .set(coupons::redemptions.eq(coupons::redemptions + 1))
    .returning(CouponRow::as_returning())
    .get_result::<CouponRow>(conn)
    .optional()?
    .map(CouponRow::into_domain)
    .transpose()
}

pub fn insert_redemption(
    conn: &mut PgConnection,
    order: OrderId,
    coupon: &Coupon,
    client: ClientId,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    let row = NewRedemption {
        order_id: order.0,
        coupon_id: coupon.id.0,
        client_id: client.0,
        once_per_client: coupon.once_per_client,
        created_at: at,
    };
    diesel::insert_into(coupon_redemptions::table).values(&row).execute(conn).map(|_| ())
}

/// Gives back the redemption an order held, if any.
pub fn release_redemption(conn: &mut PgConnection, order: OrderId) -> QueryResult<()> {
    let released: Option<Uuid> = diesel::delete(coupon_redemptions::table.find(order.0))
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
