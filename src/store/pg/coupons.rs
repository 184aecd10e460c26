//! Repository functions for `coupons` and `coupon_redemptions`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::lower;

use super::parse_text;
use super::schema::{coupon_redemptions, coupons};
use crate::domain::coupons::{Coupon, CouponChanges, CouponKind, CouponTerms};
use crate::domain::ids::{ClientId, CouponId, OrderId};
use crate::domain::money::Money;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
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

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupons, check_for_backend(diesel::pg::Pg))]
pub(super) struct CouponRow {
    pub id: Uuid,
    pub code: String,
    pub description: Option<String>,
    pub kind: String,
    pub value: Decimal,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_order_amount: Decimal,
    pub max_redemptions: Option<i32>,
    pub redemptions: i32,
    pub once_per_client: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl CouponRow {
    pub fn into_domain(self) -> QueryResult<Coupon> {
        Ok(Coupon {
            version: self.version,
            id: self.id.into(),
            code: self.code,
            description: self.description,
            terms: CouponTerms {
                kind: parse_text("coupons.kind", &self.kind, CouponKind::parse)?,
                value: Money::from_decimal(self.value),
                active: self.active,
                valid_from: self.valid_from,
                valid_until: self.valid_until,
                min_order_amount: Money::from_decimal(self.min_order_amount),
            },
            max_redemptions: self.max_redemptions,
            redemptions: self.redemptions,
            once_per_client: self.once_per_client,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl From<&Coupon> for CouponRow {
    fn from(c: &Coupon) -> Self {
        let terms = &c.terms;
        CouponRow {
            version: c.version,
            id: c.id.0,
            code: c.code.clone(),
            description: c.description.clone(),
            kind: terms.kind.as_str().to_string(),
            value: terms.value.amount(),
            valid_from: terms.valid_from,
            valid_until: terms.valid_until,
            min_order_amount: terms.min_order_amount.amount(),
            max_redemptions: c.max_redemptions,
            redemptions: c.redemptions,
            once_per_client: c.once_per_client,
            active: terms.active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = coupons)]
pub(super) struct CouponChangeset {
    description: Option<Option<String>>,
    kind: Option<&'static str>,
    value: Option<Decimal>,
    valid_from: Option<Option<DateTime<Utc>>>,
    valid_until: Option<Option<DateTime<Utc>>>,
    min_order_amount: Option<Decimal>,
    max_redemptions: Option<Option<i32>>,
    once_per_client: Option<bool>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl CouponChangeset {
    pub fn new(changes: &CouponChanges, now: DateTime<Utc>) -> Self {
        CouponChangeset {
            description: changes.description.clone(),
            kind: changes.kind.map(CouponKind::as_str),
            value: changes.value.map(Money::amount),
            valid_from: changes.valid_from,
            valid_until: changes.valid_until,
            min_order_amount: changes.min_order_amount.map(Money::amount),
            max_redemptions: changes.max_redemptions,
            once_per_client: changes.once_per_client,
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = coupon_redemptions)]
pub(super) struct NewRedemption {
    pub order_id: Uuid,
    pub coupon_id: Uuid,
    pub client_id: Uuid,
    pub once_per_client: bool,
    pub created_at: DateTime<Utc>,
}
